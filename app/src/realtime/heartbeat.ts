/**
 * Protocol-level heartbeat: every interval the server pings each connection and terminates those
 * that did not answer the previous ping (a client gets one full interval to answer). nginx's
 * websocket read timeout is derived from the same interval (nginx/nginx-config.ts), so a healthy
 * connection is never idle long enough for nginx to cut it. Browsers answer pings by themselves.
 */
import type { WebSocket } from 'ws';

export interface Heartbeat {
  /** Starts tracking a connection (it counts as alive until its first missed ping). */
  watch(socket: WebSocket): void;
  stop(): void;
}

export function startHeartbeat(options: {
  readonly intervalMs: number;
  readonly sockets: () => Iterable<WebSocket>;
  /** Called before a non-responder is terminated. */
  readonly onDead: (socket: WebSocket) => void;
}): Heartbeat {
  const alive = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const socket of options.sockets()) {
      if (!alive.has(socket)) {
        options.onDead(socket);
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, options.intervalMs);
  timer.unref();
  return {
    watch: (socket) => {
      alive.add(socket);
      socket.on('pong', () => alive.add(socket));
    },
    stop: () => clearInterval(timer),
  };
}

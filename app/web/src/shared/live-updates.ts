/**
 * Order events over the realtime service, through its typed client (app/src/realtime/client.ts:
 * resume from the last id, backoff with jitter, duplicates dropped), plus what a browser needs on
 * top: a watchdog that notices a silently dead connection.
 *
 * The token travels in the `bearer` subprotocol (`Sec-WebSocket-Protocol`, the client's browser
 * transport), never in the socket's URL: a URL is printed by the browser's console when a handshake
 * fails and recorded in nginx's error log when the ws upstream is down (a deploy), so the
 * `access_token` query parameter the service also accepts would leak it exactly then
 * (app/src/realtime/protocol.ts, TOKEN_SUBPROTOCOL).
 *
 * The watchdog: the service pings every 25 s, but a browser answers pings without telling the
 * page, and a socket whose network vanished (a phone changing Wi-Fi) can look open for minutes. So
 * the page sends `{"type":"ping"}` every PING_INTERVAL_MS (far inside the message rate limit) and
 * treats a socket that stayed silent for a whole interval after a ping as down: the page falls
 * back to polling at once, and the socket is closed so the client reconnects and resumes.
 */
import { browserConnect, RealtimeClient, type WebSocketLike } from '../../../src/realtime/client';
import type { OrderEvent } from '../../../src/events/order-events';

const PING_INTERVAL_MS = 20_000;

export interface LiveUpdatesOptions {
  readonly url: string;
  readonly token: () => string | undefined;
  /** Resume from here (a previous page's last id). @default - live events only */
  readonly lastId?: string;
  readonly onEvent: (event: OrderEvent, id: string) => void;
  /** Live (true) after `ready`; false when the socket closed or went silent. */
  readonly onLiveChange: (live: boolean) => void;
  /** The socket is live again: `resumed` is false on a fresh connection (nothing was replayed). */
  readonly onReady?: (info: { resumed: boolean; lastId: string }) => void;
  /** The service could not replay what was missed: reload state from the API. */
  readonly onResync: () => void;
}

export interface LiveUpdates {
  readonly lastId: string | undefined;
  close(): void;
}

/** The client's browser transport (token in the subprotocol), watched. */
function watchedSocket(url: string, token: string, onSilent: () => void): WebSocketLike {
  const socket = browserConnect(url, token) as unknown as WebSocket;
  let heardSincePing = true;
  let timer: ReturnType<typeof setInterval> | undefined;
  socket.addEventListener('message', () => {
    heardSincePing = true;
  });
  socket.addEventListener('open', () => {
    timer = setInterval(() => {
      if (!heardSincePing) {
        clearInterval(timer);
        onSilent();
        socket.close(4900, 'no answer to ping');
        return;
      }
      heardSincePing = false;
      socket.send(JSON.stringify({ type: 'ping' }));
    }, PING_INTERVAL_MS);
  });
  socket.addEventListener('close', () => clearInterval(timer));
  return socket as unknown as WebSocketLike;
}

export function connectLiveUpdates(options: LiveUpdatesOptions): LiveUpdates {
  let resumeFrom = options.lastId;
  const client = new RealtimeClient({
    url: options.url,
    lastId: options.lastId,
    token: () => {
      const token = options.token();
      if (token === undefined) throw new Error('no session token');
      return token;
    },
    connect: (url, token) => watchedSocket(url, token, () => options.onLiveChange(false)),
    onEvent: (event, id) => options.onEvent(event, id),
    onReady: ({ id }) => {
      options.onLiveChange(true);
      options.onReady?.({ resumed: resumeFrom !== undefined, lastId: id });
      resumeFrom = id;
    },
    onResync: () => options.onResync(),
    onClose: () => options.onLiveChange(false),
  });
  return {
    get lastId() {
      return client.lastId;
    },
    close: () => client.close(),
  };
}

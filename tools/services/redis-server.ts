/** A real Redis on a random loopback port, without persistence. */
import * as net from 'node:net';
import { freePort, MissingToolError, serviceIdentity, startProcess, waitFor } from './processes';
import { spawnSync } from 'node:child_process';

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Stops the server (it can be started again on the same port with `start`). */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port, empty (fault drills). */
  start(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      resolve(d.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) throw new MissingToolError('redis-server', 'apt-get install -y redis-server');
  const port = await freePort();
  const launch = () =>
    startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp', '--protected-mode', 'no'], {
      as: serviceIdentity('nobody'),
    });
  let server = launch();
  await waitFor(`redis-server on port ${port}`, () => ping(port), 10000, () => server.output());
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => server.stop('SIGTERM'),
    start: async () => {
      await server.stop('SIGTERM');
      server = launch();
      await waitFor(`redis-server restart on port ${port}`, () => ping(port), 10000, () => server.output());
    },
  };
}

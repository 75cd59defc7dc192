/**
 * Starting real servers on loopback for the tests and the tools: free ports, a non-root identity for servers that
 * refuse root (PostgreSQL), and children that die with their parent (`setpriv --pdeathsig`), so a
 * killed jest worker leaves nothing running.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

export class MissingToolError extends Error {
  constructor(tool: string, install: string) {
    super(`${tool} not found: install it with "${install}"`);
    this.name = 'MissingToolError';
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The uid/gid servers run as when the tests run as root (PostgreSQL refuses to run as root). */
export function serviceIdentity(name = 'postgres'): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  return { uid: 65534, gid: 65534 };
}

export function chownRecursive(path: string, owner: { uid: number; gid: number } | undefined): void {
  if (!owner) return;
  spawnSync('chown', ['-R', `${owner.uid}:${owner.gid}`, path]);
}

export interface StartedProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote, for error messages. */
  output(): string;
  /** Sends `signal` and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `command` as a direct child that the kernel kills when this process dies. */
export function startProcess(command: string, args: readonly string[], options: { as?: { uid: number; gid: number }; env?: NodeJS.ProcessEnv; cwd?: string } = {}): StartedProcess {
  if (!fs.existsSync('/usr/bin/setpriv')) throw new MissingToolError('setpriv', 'apt-get install -y util-linux');
  const identity = options.as ? ['--reuid', String(options.as.uid), '--regid', String(options.as.gid), '--clear-groups'] : [];
  const child = spawn('/usr/bin/setpriv', [...identity, '--pdeathsig', 'KILL', '--', command, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  const keep = (d: Buffer) => {
    chunks.push(d.toString());
    if (chunks.length > 200) chunks.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => chunks.join(''),
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `check` until it resolves true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15000, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
}

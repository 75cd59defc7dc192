import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

// Debian installs nginx in /usr/sbin, which a non-root PATH often lacks.
const EXTRA_SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];

/** Fails (never skips) when nginx is missing: these tests are the only real check of the config. */
export function findNginxBinary(
  searchDirs: readonly string[] = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_SEARCH_DIRS],
): string {
  for (const dir of searchDirs) {
    const candidate = path.join(dir, 'nginx');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error('nginx not found on PATH: install it with "apt-get install -y nginx-light"');
}

export interface CommandResult {
  readonly status: number | null;
  readonly output: string;
}

/** `nginx -t`: parses the file and opens everything it names (logs, pid, temp directories). */
export function testNginxConfig(prefixDir: string, configFile: string): CommandResult {
  const result = spawnSync(findNginxBinary(), ['-t', '-p', prefixDir, '-c', configFile], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Reserves nothing: the port is free when returned and is bound again by the caller at once. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The container runs nginx as a non-root user; a root test runner does the same with `nobody`,
 * so the test also proves nginx needs no privileges for its pid, logs and temp files.
 */
export function unprivilegedIdentity(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
}

export interface RunningNginx {
  readonly pid: number;
  /** Master and worker pids seen while running, to prove none outlives `stop()`. */
  processIds(): number[];
  stop(): Promise<void>;
}

/**
 * Starts `nginx -g 'daemon off;'` as a direct child and resolves once `/nginx-health` answers.
 * `setpriv --pdeathsig TERM` makes nginx shut down (workers included) if the test runner dies.
 */
export async function startNginx(options: {
  readonly prefixDir: string;
  readonly configFile: string;
  readonly port: number;
  readonly errorLogFile: string;
}): Promise<RunningNginx> {
  const nginx = findNginxBinary();
  const nginxArgs = ['-p', options.prefixDir, '-c', options.configFile, '-g', 'daemon off;'];
  const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
  const [command, args]: [string, string[]] = hasSetpriv
    ? ['setpriv', ['--pdeathsig', 'TERM', nginx, ...nginxArgs]]
    : [nginx, nginxArgs];

  const identity = unprivilegedIdentity();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...identity });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const seen = new Set<number>();
  const record = () => {
    if (child.pid === undefined) return;
    seen.add(child.pid);
    for (const pid of childrenOf(child.pid)) seen.add(pid);
  };

  const deadline = Date.now() + 5_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nginx exited during startup (${child.exitCode ?? child.signalCode}):\n${output}${readIfExists(options.errorLogFile)}`);
    }
    if ((await healthStatus(options.port)) === 200) break;
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`nginx did not answer /nginx-health within 5 s:\n${output}${readIfExists(options.errorLogFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  record();

  return {
    pid: child.pid as number,
    processIds: () => {
      record();
      return [...seen];
    },
    stop: async () => {
      record();
      await stopChild(child, exited);
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // TERM is nginx's fast shutdown: the master stops its workers before it exits.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function childrenOf(parentPid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses; fields resume after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parentPid) children.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return children;
}

function healthStatus(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/nginx-health', agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(undefined));
    request.setTimeout(500, () => request.destroy());
  });
}

function readIfExists(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

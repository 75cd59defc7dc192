/**
 * The whole platform on loopback, from the code that ships: PostgreSQL primary + streaming
 * replica, Redis, the migration bundle, seed data for every sample location, N api and N ws
 * processes from `app/dist`, nginx rendered by `nginx/` in static mode, and a dev identity service.
 * nginx also serves the web client's build (app/web/dist) on the same origin, as CloudFront serves it
 * in a location, with this run's `/config.json` (tools/local/local-web.ts).
 * Used by `npm run local`, the browser tests, the peak-hour bench and the fault drills.
 *
 * Every server is a direct child started through `setpriv --pdeathsig` (tools/services),
 * so a SIGKILLed runner leaves nothing behind; `stop()` is the orderly way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp } from '../../app/build';
import { ensureWebBuild, WEB_DIST_DIR } from '../../app/web/build';
import { WEB_RUNTIME_CONFIG_FILE } from '../../contract/web-delivery';
import type { Location } from '../../stacks/infra/config/location';
import { loadLocations } from '../../stacks/infra/config/load-locations';
import { startNginx, type RunningNginx } from '../services/nginx-process';
import { appBundlePath, appEntryCommand, type AppEntry } from '../services/app-process';
import { startPostgresCluster, type PostgresCluster } from '../services/postgres-cluster';
import { chownRecursive, freePort, startProcess, waitFor, type StartedProcess } from '../services/processes';
import { startRedis, type RedisServer } from '../services/redis-server';
import { startDevIdentity, type DevIdentity } from './dev-identity';
import { localProcessEnvironment } from './local-environment';
import { renderLocalNginxConfig } from './local-nginx';
import { writeLocalRuntimeConfig } from './local-web';
import { seedRestaurants, type SeededRestaurant } from './seed';

const REPO = path.resolve(__dirname, '../..');
export const SAMPLE_LOCATIONS_DIR = path.join(REPO, 'locations');

export interface LocalPlatformOptions {
  /** @default 3 */
  readonly apiProcesses?: number;
  /** @default 3 */
  readonly wsProcesses?: number;
  /** @default 'info' */
  readonly logLevel?: string;
  /** Fixed nginx port. @default - a free port */
  readonly nginxPort?: number;
  /** @default SAMPLE_LOCATIONS_DIR */
  readonly locationsDir?: string;
  /** Progress lines (startup steps). @default - silent */
  readonly log?: (line: string) => void;
}

/** An api or ws process that can be killed and started again on the same port (fault drills). */
export interface ManagedProcess {
  readonly role: 'api' | 'ws';
  readonly index: number;
  readonly port: number;
  readonly url: string;
  /** Probes and metrics (`/healthz`, `/readyz`, `/metrics`); `url` answers 404 for them. */
  readonly internalUrl: string;
  /** Loopback port per container port name of the app stack (`http`, `internal`: http-workload.ts). */
  readonly ports: Readonly<Record<'http' | 'internal', number>>;
  pid(): number | undefined;
  isRunning(): boolean;
  output(): string;
  /** Sends a signal and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again (after `kill`) and waits for /readyz on the internal port. */
  start(): Promise<void>;
}

export interface LocalPlatform {
  readonly cluster: PostgresCluster;
  readonly redis: RedisServer;
  readonly identity: DevIdentity;
  readonly nginx: RunningNginx;
  readonly apis: readonly ManagedProcess[];
  readonly wss: readonly ManagedProcess[];
  readonly restaurants: readonly SeededRestaurant[];
  readonly locations: readonly Location[];
  /** `http://127.0.0.1:<nginx port>` */
  readonly baseUrl: string;
  /** `ws://127.0.0.1:<nginx port>/ws` */
  readonly wsUrl: string;
  readonly nginxConfigFile: string;
  /** pids of every process the platform started (servers and their workers), for leak checks. */
  processIds(): number[];
  stop(): Promise<void>;
}

/**
 * Builds the bundles when one is missing (the runner starts what ships, never app/src), and the web
 * client when its sources changed since its last build.
 */
export async function ensureBundles(log: (line: string) => void = () => undefined): Promise<void> {
  const entries: AppEntry[] = ['api-main', 'ws-main', 'migrate-main'];
  if (!entries.every((e) => fs.existsSync(appBundlePath(e)))) {
    log('building app/dist (npm run build:app)...');
    await buildApp();
  }
  const web = await ensureWebBuild();
  if (web.built) log('built the web client (npm run build:web)');
}

async function ready(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await response.arrayBuffer();
  return response.status === 200;
}

function managedProcess(role: 'api' | 'ws', index: number, port: number, internalPort: number, env: Record<string, string>): ManagedProcess {
  const entry: AppEntry = role === 'api' ? 'api-main' : 'ws-main';
  let current: StartedProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  const internalUrl = `http://127.0.0.1:${internalPort}`;
  const running = () => current !== undefined && current.child.exitCode === null && current.child.signalCode === null;
  const self: ManagedProcess = {
    role,
    index,
    port,
    url,
    internalUrl,
    ports: { http: port, internal: internalPort },
    pid: () => (running() ? current!.child.pid : undefined),
    isRunning: running,
    output: () => current?.output() ?? '',
    kill: async (signal) => {
      await current?.stop(signal);
    },
    start: async () => {
      if (running()) return;
      const { command, args } = appEntryCommand(entry);
      current = startProcess(command, args, { env, cwd: REPO });
      const started = current;
      await waitFor(`${role} ${index} ready on port ${port}`, async () => {
        if (started.child.exitCode !== null) throw new Error(`${role} ${index} exited ${started.child.exitCode}:\n${started.output()}`);
        return ready(`${internalUrl}/readyz`);
      }, 30_000, () => started.output());
    },
  };
  return self;
}

export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  const log = options.log ?? (() => undefined);
  const apiCount = options.apiProcesses ?? 3;
  const wsCount = options.wsProcesses ?? 3;
  const locations = loadLocations(options.locationsDir ?? SAMPLE_LOCATIONS_DIR, { displayRoot: REPO });
  await ensureBundles(log);

  const cleanups: (() => Promise<unknown>)[] = [];
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'restaurant-local-'));
  // nginx runs as nobody when we are root: it must be able to reach its prefix below this.
  fs.chmodSync(runDir, 0o755);
  cleanups.push(async () => fs.rmSync(runDir, { recursive: true, force: true }));
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    log('starting PostgreSQL primary + streaming replica, Redis and the dev identity service...');
    const [cluster, redis, identity] = await Promise.all([startPostgresCluster(), startRedis(), startDevIdentity()]);
    cleanups.push(() => cluster.stop(), () => redis.stop(), () => identity.close());

    const location = locations[0]!;
    const imageDir = path.join(runDir, 'menu-images');
    fs.mkdirSync(imageDir, { recursive: true });
    const environment = (role: 'api' | 'ws' | 'migrate', port?: number, internalPort?: number, publicBaseUrl?: string) =>
      localProcessEnvironment({
        role,
        location,
        cluster,
        redis,
        identity: identity.provider,
        port,
        internalPort,
        publicBaseUrl,
        shutdownGraceMs: role === 'migrate' ? undefined : 5000,
        imageDir,
        logLevel: options.logLevel,
      });

    log('running migrations (app/dist/migrate-main.js up)...');
    const migrate = appEntryCommand('migrate-main');
    const migration = startProcess(migrate.command, [...migrate.args, 'up'], { env: environment('migrate'), cwd: REPO });
    const migrationCode = await new Promise<number | null>((resolve) => migration.child.once('exit', (code) => resolve(code)));
    if (migrationCode !== 0) throw new Error(`migrate-main up exited ${migrationCode}:\n${migration.output()}`);

    log(`seeding ${locations.length} restaurants (${locations.map((l) => l.id).join(', ')})...`);
    const restaurants = await seedRestaurants(cluster, locations);

    const ports = await Promise.all(Array.from({ length: apiCount + wsCount + 2 }, () => freePort()));
    const internalPorts = await Promise.all(Array.from({ length: apiCount + wsCount }, () => freePort()));
    const nginxPort = options.nginxPort ?? ports[apiCount + wsCount]!;
    const baseUrl = `http://127.0.0.1:${nginxPort}`;
    const apis = ports.slice(0, apiCount).map((port, i) => managedProcess('api', i, port, internalPorts[i]!, environment('api', port, internalPorts[i], baseUrl)));
    const wss = ports
      .slice(apiCount, apiCount + wsCount)
      .map((port, i) => managedProcess('ws', i, port, internalPorts[apiCount + i]!, environment('ws', port, internalPorts[apiCount + i])));
    cleanups.push(() => Promise.all([...apis, ...wss].map((p) => p.kill('SIGTERM'))));
    log(`starting ${apiCount} api and ${wsCount} ws processes from app/dist...`);
    await Promise.all([...apis, ...wss].map((p) => p.start()));

    const prefixDir = path.join(runDir, 'nginx');
    fs.mkdirSync(prefixDir, { recursive: true });
    const nginxConfigFile = path.join(prefixDir, 'nginx.conf');
    const runtimeConfigFile = path.join(runDir, 'web', WEB_RUNTIME_CONFIG_FILE);
    writeLocalRuntimeConfig(runtimeConfigFile, { apiBaseUrl: baseUrl, websocketUrl: `ws://127.0.0.1:${nginxPort}/ws` });
    const web = { distDir: WEB_DIST_DIR, runtimeConfigFile, host: `127.0.0.1:${nginxPort}` };
    fs.writeFileSync(nginxConfigFile, renderLocalNginxConfig({ apiPorts: apis.map((a) => a.port), wsPorts: wss.map((w) => w.port), listenPort: nginxPort, statusListenPort: ports[apiCount + wsCount + 1]!, prefixDir, web }));
    chownRecursive(prefixDir, process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined);
    log(`starting nginx on 127.0.0.1:${nginxPort}...`);
    const nginx = await startNginx({ prefixDir, configFile: nginxConfigFile, port: nginxPort, errorLogFile: path.join(prefixDir, 'error.log') });
    cleanups.push(() => nginx.stop());

    const platform: LocalPlatform = {
      cluster,
      redis,
      identity,
      nginx,
      apis,
      wss,
      restaurants,
      locations,
      baseUrl,
      wsUrl: `ws://127.0.0.1:${nginxPort}/ws`,
      nginxConfigFile,
      processIds: () => [...nginx.processIds(), ...[...apis, ...wss].map((p) => p.pid()).filter((p): p is number => p !== undefined)],
      stop: stopAll,
    };
    return platform;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

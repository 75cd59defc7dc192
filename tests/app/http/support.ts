/**
 * Shared by the HTTP tests: token minting with a generated key pair (tools/services/token-mint.ts,
 * which the benches and `npm run local` use too), and an app on port 0.
 */
import type { Server } from 'node:http';
import { parseConfig, type AppConfig } from '../../../app/src/config';
import type { DatabaseManager } from '../../../app/src/db/database-manager';
import { createApp, type AppDependencies, type AppHandle } from '../../../app/src/http/app';
import { boundPort, listen } from '../../../app/src/http/server';
import { createLogger, type Logger } from '../../../app/src/logger';
import { createMetrics } from '../../../app/src/metrics';
import type { KeySource } from '../../../app/src/auth/verify-token';
import { testEnvironment } from '../db/database-manager-fixtures';
import { AUDIENCE, ISSUER } from '../../../tools/services/token-mint';

export { AUDIENCE, createTokenMint, ISSUER, type TokenMint } from '../../../tools/services/token-mint';

export function httpTestConfig(overrides: Record<string, string> = {}): AppConfig {
  return parseConfig(testEnvironment({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, LOG_LEVEL: 'info', ...overrides }));
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(config: AppConfig): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(config, { destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  return { logger, lines };
}

/** A database manager stand-in for tests that do not touch the database. */
export function stubDatabase(overrides: Partial<DatabaseManager> = {}): DatabaseManager {
  return {
    read: (async () => ({ rows: [{ '?column?': 1 }] })) as unknown as DatabaseManager['read'],
    write: (async () => ({ rows: [] })) as unknown as DatabaseManager['write'],
    transaction: async () => undefined as never,
    readYourWritesToken: () => undefined,
    recordWritten: () => undefined,
    checkReplicas: async () => undefined,
    replicaStatus: () => [],
    poolStats: () => [],
    close: async () => undefined,
    ...overrides,
  };
}

export interface RunningApp {
  /** The public API (what nginx proxies to). */
  readonly url: string;
  /** Probes and metrics (the internal port). */
  readonly internalUrl: string;
  readonly handle: AppHandle;
  readonly server: Server;
  readonly internalServer: Server;
  readonly lines: Record<string, unknown>[];
  readonly deps: AppDependencies;
  close(): Promise<void>;
}

export async function startApp(overrides: Partial<AppDependencies> & { jwks: KeySource }): Promise<RunningApp> {
  const config = overrides.config ?? httpTestConfig();
  const { logger, lines } = memoryLogger(config);
  const deps: AppDependencies = { config, db: stubDatabase(), logger, metrics: createMetrics({ defaultMetrics: false }), ...overrides };
  const handle = createApp(deps);
  const server = await listen(handle.handler, 0, '127.0.0.1');
  const internalServer = await listen(handle.internalApp, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${boundPort(server)}`,
    internalUrl: `http://127.0.0.1:${boundPort(internalServer)}`,
    handle,
    server,
    internalServer,
    lines,
    deps,
    close: async () => {
      handle.close();
      for (const listener of [server, internalServer]) {
        listener.closeAllConnections();
        await new Promise<void>((resolve) => listener.close(() => resolve()));
      }
    },
  };
}

export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics text)
  }
  return { status: response.status, headers: response.headers, body };
}

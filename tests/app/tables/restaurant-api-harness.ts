/**
 * Shared by the table, reservation, kitchen and analytics API tests: a real PostgreSQL primary with
 * its streaming replica, the migrated schema, two restaurants with tables, a database manager that
 * records which role ran each named unit of work, token minting, and an app on port 0 with the
 * routes under test. Rate limits are in memory and generous; load shedding trips only on demand.
 */
import type { Router } from 'express';
import type { Client } from 'pg';
import { createDatabaseManager, type DatabaseManager, type DatabaseRole } from '../../../app/src/db/database-manager';
import type { RouteKit } from '../../../app/src/http/app';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { clusterConfig, recordingLogger } from '../db/database-manager-fixtures';
import { applySchema, connect } from '../db/migrate-support';
import { createTokenMint, getJson, startApp, type RunningApp, type TokenMint } from '../http/support';

export type Role = 'guest' | 'staff' | 'manager' | 'kitchen';

export interface Seed {
  /** Asia/Bangkok (UTC+7, no DST): restaurant-local days differ from UTC days. */
  readonly restaurant: string;
  /** UTC. */
  readonly other: string;
  /** Five tables of `restaurant`, labelled T1..T5. */
  readonly tables: readonly string[];
  /** A table of `other`. */
  readonly otherTable: string;
}

export interface Harness {
  readonly cluster: PostgresCluster;
  /** Superuser-free session on the primary for seeding and checks. */
  readonly sql: Client;
  readonly db: DatabaseManager;
  readonly app: RunningApp;
  readonly mint: TokenMint;
  readonly seed: Seed;
  /** Every unit of work the manager ran, in order, with the role that served it. */
  readonly queries: { name: string; role: DatabaseRole }[];
  /** Makes the load shedder see (or stop seeing) an overloaded event loop. */
  setOverloaded(overloaded: boolean): void;
  token(role: Role, options?: { restaurant?: string; table?: string }): Promise<string>;
  call(method: string, path: string, options?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any }>;
  close(): Promise<void>;
}

export async function startHarness(routes: (v1: Router, kit: RouteKit, db: DatabaseManager) => void): Promise<Harness> {
  const [cluster, mint] = await Promise.all([startPostgresCluster(), createTokenMint()]);
  try {
    return await build(cluster, mint, routes);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

async function build(cluster: PostgresCluster, mint: TokenMint, routes: (v1: Router, kit: RouteKit, db: DatabaseManager) => void): Promise<Harness> {
  await applySchema(cluster);
  const sql = await connect(cluster);
  const r = await sql.query<{ id: string }>(
    `INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('cafe', 'Cafe', 'Asia/Bangkok', 'THB'), ('other', 'Other', 'UTC', 'GBP') RETURNING id::text`,
  );
  const [restaurant, other] = r.rows.map((x) => x.id) as [string, string];
  const tables = await sql.query<{ id: string }>(
    `INSERT INTO tables (restaurant_id, label, seats) SELECT $1, 'T' || g, 2 + g FROM generate_series(1, 5) g ORDER BY g RETURNING id::text`,
    [restaurant],
  );
  const otherTable = (await sql.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'X1', 2) RETURNING id::text`, [other])).rows[0]!.id;
  const seed: Seed = { restaurant, other, tables: tables.rows.map((t) => t.id), otherTable };

  const queries: Harness['queries'] = [];
  const db = createDatabaseManager(clusterConfig(cluster), { logger: recordingLogger(), onQuery: (name, role) => void queries.push({ name, role }) });
  let loopDelayMs = 0;
  const app = await startApp({
    jwks: mint.jwks,
    db,
    rateLimits: { read: { points: 100_000, windowSeconds: 60 }, write: { points: 100_000, windowSeconds: 60 }, analytics: { points: 100_000, windowSeconds: 60 } },
    loadShedding: { maxEventLoopDelayMs: 50, maxPoolWaiting: 1e9, eventLoopDelayMs: () => loopDelayMs },
    routes: (v1, kit) => routes(v1, kit, db),
  });

  return {
    cluster,
    sql,
    db,
    app,
    mint,
    seed,
    queries,
    setOverloaded: (overloaded) => {
      loopDelayMs = overloaded ? 1000 : 0;
    },
    token: (role, options = {}) =>
      mint.sign({
        sub: `${role}-1`,
        role,
        restaurant_id: options.restaurant ?? restaurant,
        ...(role === 'guest' ? { table_id: options.table ?? seed.tables[0] } : {}),
      }),
    call: (method, path, options = {}) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      return getJson(`${app.url}/v1${path}`, { method, headers, body });
    },
    close: async () => {
      await app.close();
      await db.close();
      await sql.end();
      await cluster.stop();
    },
  };
}

/** A restaurant-local calendar date (YYYY-MM-DD) of an instant. */
export function localDate(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

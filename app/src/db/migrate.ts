/**
 * Runs the schema migrations in app/src/db/migrations with node-pg-migrate's runner.
 *
 * - Migrations are plain .sql files (`-- Up Migration` / `-- Down Migration` sections). DDL for
 *   partitioned tables, CHECKs and a materialized view reads best as SQL, and .sql files load the
 *   same way under jest, tsx and the esbuild bundle (no TypeScript loader at runtime): the image
 *   ships them next to the bundle as dist/migrations/. Name new files `<UTC timestamp, 17 digits>_<what>.sql`
 *   (as `node-pg-migrate create --migration-filename-format utc` does), later than the last one:
 *   a file that sorts before an applied migration fails the run (`checkOrder`).
 * - All pending migrations run in one transaction (`singleTransaction`): a failing release leaves
 *   the schema exactly as it was, and the Job can simply run again.
 * - Two runs cannot interleave: the runner holds a session advisory lock (node-pg-migrate's
 *   PG_MIGRATE_LOCK_ID) from before it reads `pgmigrations` until it is done. The mode is `wait`,
 *   not the library's default `fail`: a second Job (a retry whose predecessor is still finishing)
 *   waits, then finds nothing left to do and succeeds, instead of failing the release. The Job's
 *   activeDeadlineSeconds bounds the wait.
 * - A future migration that alters a busy table should start with `SET LOCAL lock_timeout = '5s';`
 *   so it fails (and the Job retries) rather than queueing every order query behind its lock.
 */
import * as path from 'node:path';
import type { ClientBase } from 'pg';
// node-pg-migrate 9 is ESM-only and publishes its types under `exports`, which this repo's
// `moduleResolution: node` does not read: the types come from the file, the value from the package
// (Node >= 20.19 and 22.12 load ESM through require; esbuild inlines it in the bundle).
import type * as NodePgMigrate from 'node-pg-migrate/dist/bundle/index';

/** Where the .sql files are: next to this module, in the sources and in the bundle alike. */
export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** node-pg-migrate's default bookkeeping table; kept so its CLI works against the same database. */
export const MIGRATIONS_TABLE = 'pgmigrations';

export type MigrationDirection = 'up' | 'down';

export interface MigrationLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface MigrateOptions {
  /**
   * How many migrations to apply or revert.
   * @default - every pending migration for `up`, one for `down`
   */
  readonly count?: number;
  /** @default MIGRATIONS_DIR */
  readonly dir?: string;
  /** @default - messages are dropped */
  readonly logger?: MigrationLogger;
}

export interface MigrationResult {
  readonly direction: MigrationDirection;
  /** Names of the migrations this run applied (up) or reverted (down), in order; empty when none. */
  readonly names: readonly string[];
}

function loadRunner(): typeof NodePgMigrate.runner {
  return (require('node-pg-migrate') as typeof NodePgMigrate).runner;
}

const SILENT: MigrationLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Applies (`up`) or reverts (`down`) migrations over `client`, a connected session to the
 * primary that the caller owns and closes. Resolves with what was run.
 */
export async function migrate(client: ClientBase, direction: MigrationDirection, options: MigrateOptions = {}): Promise<MigrationResult> {
  if (options.count !== undefined && !(options.count === Infinity || (Number.isInteger(options.count) && options.count > 0))) {
    throw new Error(`count must be a positive integer or Infinity, got ${options.count}`);
  }
  const runner = loadRunner();
  const logger = options.logger ?? SILENT;
  const run = await runner({
    dbClient: client,
    dir: options.dir ?? MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction,
    count: options.count ?? (direction === 'up' ? Infinity : 1),
    singleTransaction: true,
    checkOrder: true,
    advisoryLockMode: 'wait',
    logger: { info: logger.info, warn: logger.warn, error: logger.error },
  });
  return { direction, names: run.map((m) => m.name) };
}

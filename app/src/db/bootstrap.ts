/**
 * The database bootstrap of a location: what only the RDS master user may do, so that the
 * migration Job (which logs in as DATABASE_USER, `app`, with an RDS IAM token) can run on a brand
 * new instance. The `db-bootstrap` Job runs it before every release's migration
 * (stacks/infra/constructs/database-bootstrap-job.ts); on a bootstrapped database it changes nothing.
 *
 * The master on RDS is not a superuser: it has CREATEROLE and CREATEDB and is a member of
 * `rds_superuser`, which holds ADMIN on `rds_iam`. In that position, in one transaction:
 *
 * 1. `role`: `CREATE ROLE app LOGIN` (no password: `rds_iam` makes RDS accept only IAM tokens).
 * 2. `rds-iam`: `GRANT rds_iam TO app`, which lets IAM tokens in (needs ADMIN on rds_iam).
 * 3. `master-membership`: `GRANT app TO <master>`. Since PostgreSQL 16 a CREATEROLE creator gets
 *    only ADMIN on the role it creates, not SET, and `ALTER DATABASE ... OWNER TO app` requires
 *    being able to `SET ROLE app` ("must be able to SET ROLE app").
 * 4. `database-owner`: `ALTER DATABASE <db> OWNER TO app`. The owner of the database owns its
 *    `public` schema (`pg_database_owner`, PostgreSQL >= 15), so the migrations may create there.
 * 5. `schema-public`: checks that `app` may use and create in `public`, granting it when not.
 * 6. `extension-<name>`: extensions the migrations want but may not create as `app`
 *    (pg_stat_statements needs rds_superuser). Not being allowed is a warning, as in the migration:
 *    the schema does not depend on it.
 *
 * Every step reads the catalog first and acts only when the state differs, so a second run
 * reports every step `unchanged`. An advisory lock serialises two runs (a retried Job whose
 * predecessor is still connected). Nothing here logs or throws the password.
 */
import { Client, type ClientBase, type ClientConfig, escapeIdentifier } from 'pg';
import type { AppConfig } from '../config';
import { sslOptions } from './pg-pools';

export interface MasterCredentials {
  readonly username: string;
  readonly password: string;
}

/** Where the master login comes from: Secrets Manager in production, a stand-in in tests. */
export interface MasterCredentialsSource {
  /** Names the source in logs and errors (never the credentials themselves). */
  readonly description: string;
  read(): Promise<MasterCredentials>;
}

/** RDS's role whose members authenticate with IAM tokens instead of passwords. */
export const RDS_IAM_ROLE = 'rds_iam';

/**
 * Extensions the migrations create when they may (app/src/db/migrations) but which need more than
 * the database owner: untrusted extensions need a superuser, on RDS `rds_superuser`.
 */
export const MASTER_EXTENSIONS: readonly string[] = ['pg_stat_statements'];

/** Key of the transaction advisory lock two bootstrap runs serialise on. */
const BOOTSTRAP_LOCK_KEY = 'restaurant-platform:db-bootstrap';

/** What a step found and did: `unchanged` is the only outcome of a run on a bootstrapped database. */
export type StepOutcome = 'created' | 'granted' | 'changed' | 'unchanged' | 'skipped';

export interface BootstrapStep {
  readonly step: string;
  readonly outcome: StepOutcome;
  readonly detail: string;
}

export interface BootstrapResult {
  readonly masterUser: string;
  readonly appUser: string;
  readonly database: string;
  /** `server_version` of the primary, e.g. `16.14`. */
  readonly serverVersion: string;
  readonly steps: readonly BootstrapStep[];
  /** False when every step was `unchanged` or `skipped`: the run changed nothing. */
  readonly changed: boolean;
}

export interface BootstrapLogger {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

export interface BootstrapOptions {
  /** The application's login role (DATABASE_USER): `app` in production. */
  readonly appUser: string;
  /** @default MASTER_EXTENSIONS */
  readonly extensions?: readonly string[];
  /** @default - messages are dropped */
  readonly logger?: BootstrapLogger;
}

/** Unquoted PostgreSQL identifiers as the stacks name roles and extensions. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

const SILENT: BootstrapLogger = { info: () => undefined, warn: () => undefined };

/**
 * Runs the steps over `client`, a session to the application database logged in as the master
 * user, which the caller owns and closes. All steps commit together or not at all.
 */
export async function bootstrapDatabase(client: ClientBase, options: BootstrapOptions): Promise<BootstrapResult> {
  const { appUser } = options;
  const extensions = options.extensions ?? MASTER_EXTENSIONS;
  const logger = options.logger ?? SILENT;
  if (!IDENTIFIER.test(appUser)) {
    throw new Error(`appUser must be a role name of lowercase letters, digits and _ (at most 63, not starting with a digit), got ${JSON.stringify(appUser)}`);
  }
  for (const extension of extensions) {
    if (!IDENTIFIER.test(extension)) throw new Error(`extensions must be extension names of lowercase letters, digits and _, got ${JSON.stringify(extension)}`);
  }
  const app = escapeIdentifier(appUser);
  const steps: BootstrapStep[] = [];
  const record = (step: string, outcome: StepOutcome, detail: string) => {
    steps.push({ step, outcome, detail });
    (outcome === 'skipped' ? logger.warn : logger.info)(`${step}: ${detail}`, { step, outcome });
  };
  const one = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T> => (await client.query<T>(sql, values)).rows[0]!;

  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [BOOTSTRAP_LOCK_KEY]);
    const session = await one<{ master: string; database: string; version_num: number; version: string }>(
      "SELECT current_user AS master, current_database() AS database, current_setting('server_version_num')::int AS version_num, current_setting('server_version') AS version",
    );
    if (session.master === appUser) {
      throw new Error(`the bootstrap must log in as the master user, not as ${appUser} (the role it creates)`);
    }
    const master = escapeIdentifier(session.master);

    const role = await client.query<{ can_login: boolean }>('SELECT rolcanlogin AS can_login FROM pg_roles WHERE rolname = $1', [appUser]);
    if (role.rows.length === 0) {
      await client.query(`CREATE ROLE ${app} LOGIN`);
      record('role', 'created', `created role ${appUser} LOGIN`);
    } else if (!role.rows[0]!.can_login) {
      await client.query(`ALTER ROLE ${app} LOGIN`);
      record('role', 'changed', `role ${appUser} existed without LOGIN; granted LOGIN`);
    } else {
      record('role', 'unchanged', `role ${appUser} exists and may log in`);
    }

    const iam = await one<{ exists: boolean; member: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists,
              EXISTS (SELECT 1 FROM pg_auth_members m
                        JOIN pg_roles g ON g.oid = m.roleid
                        JOIN pg_roles u ON u.oid = m.member
                       WHERE g.rolname = $1 AND u.rolname = $2) AS member`,
      [RDS_IAM_ROLE, appUser],
    );
    if (!iam.exists) {
      throw new Error(`role ${RDS_IAM_ROLE} does not exist on ${session.database}'s server: RDS creates it on every PostgreSQL instance; is DATABASE_PRIMARY_HOST an RDS instance?`);
    }
    if (iam.member) {
      record('rds-iam', 'unchanged', `${appUser} is a member of ${RDS_IAM_ROLE}`);
    } else {
      await client.query(`GRANT ${escapeIdentifier(RDS_IAM_ROLE)} TO ${app}`);
      record('rds-iam', 'granted', `granted ${RDS_IAM_ROLE} to ${appUser} (IAM token login)`);
    }

    // pg_has_role's SET mode exists from 16 on; before, any membership allowed SET ROLE.
    const mode = session.version_num >= 160000 ? 'SET' : 'MEMBER';
    const membership = await one<{ can: boolean }>('SELECT pg_has_role(current_user, $1, $2) AS can', [appUser, mode]);
    if (membership.can) {
      record('master-membership', 'unchanged', `${session.master} may SET ROLE ${appUser}`);
    } else {
      await client.query(`GRANT ${app} TO ${master}`);
      record('master-membership', 'granted', `granted ${appUser} to ${session.master}, so it may hand ${appUser} the database`);
    }

    const database = await one<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database()');
    if (database.owner === appUser) {
      record('database-owner', 'unchanged', `${appUser} owns database ${session.database}`);
    } else {
      await client.query(`ALTER DATABASE ${escapeIdentifier(session.database)} OWNER TO ${app}`);
      record('database-owner', 'changed', `database ${session.database} owner ${database.owner} -> ${appUser}`);
    }

    const schema = await one<{ usage: boolean; create: boolean }>(
      "SELECT has_schema_privilege($1, 'public', 'USAGE') AS usage, has_schema_privilege($1, 'public', 'CREATE') AS create",
      [appUser],
    );
    if (schema.usage && schema.create) {
      record('schema-public', 'unchanged', `${appUser} may use and create in schema public`);
    } else {
      await client.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${app}`);
      record('schema-public', 'granted', `granted USAGE, CREATE on schema public to ${appUser}`);
    }

    for (const extension of extensions) {
      const step = `extension-${extension}`;
      const state = await one<{ installed: boolean; available: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1) AS installed,
                EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1) AS available`,
        [extension],
      );
      if (state.installed) {
        record(step, 'unchanged', `extension ${extension} exists`);
      } else if (!state.available) {
        record(step, 'skipped', `extension ${extension} is not available on this server`);
      } else {
        // A refusal must not abort the transaction the other steps ran in.
        await client.query('SAVEPOINT bootstrap_extension');
        try {
          await client.query(`CREATE EXTENSION IF NOT EXISTS ${escapeIdentifier(extension)}`);
          await client.query('RELEASE SAVEPOINT bootstrap_extension');
          record(step, 'created', `created extension ${extension}`);
        } catch (error) {
          if ((error as { code?: string }).code !== '42501') throw error;
          await client.query('ROLLBACK TO SAVEPOINT bootstrap_extension');
          record(step, 'skipped', `${session.master} may not create extension ${extension} (${(error as Error).message}); on RDS the master, a member of rds_superuser, may`);
        }
      }
    }

    await client.query('COMMIT');
    const changed = steps.some((s) => s.outcome !== 'unchanged' && s.outcome !== 'skipped');
    return { masterUser: session.master, appUser, database: session.database, serverVersion: session.version, steps, changed };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** How long opening the master connection may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The master's connection to the primary: host, port, database and TLS as the app's own
 * (DATABASE_SSL=verify-full against the RDS CA bundle the image trusts through
 * NODE_EXTRA_CA_CERTS), user and password from the master secret.
 */
export function bootstrapClientConfig(config: AppConfig, credentials: MasterCredentials): ClientConfig {
  return {
    host: config.DATABASE_PRIMARY_HOST,
    port: config.DATABASE_PORT,
    database: config.DATABASE_NAME,
    user: credentials.username,
    password: credentials.password,
    ssl: sslOptions(config.DATABASE_SSL, undefined),
    application_name: `${config.LOCATION_ID}-${config.SERVICE_ROLE}`,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
}

/**
 * Reads the master credentials, connects to the primary as the master and bootstraps the
 * database for DATABASE_USER. The connection is closed whatever happens.
 */
export async function runDatabaseBootstrap(config: AppConfig, source: MasterCredentialsSource, logger: BootstrapLogger = SILENT): Promise<BootstrapResult> {
  const credentials = await source.read();
  const clientConfig = bootstrapClientConfig(config, credentials);
  const client = new Client(clientConfig);
  // Without a listener, the server going away between queries would crash the process unexplained;
  // the pending query fails on its own.
  client.on('error', (error) => logger.warn(`database connection lost: ${error.message}`, {}));
  try {
    try {
      await client.connect();
    } catch (error) {
      throw new Error(
        `cannot connect to the primary ${clientConfig.host}:${clientConfig.port} database ${clientConfig.database} as ${credentials.username} (from ${source.description}): ${(error as Error).message}`,
        { cause: error },
      );
    }
    return await bootstrapDatabase(client, { appUser: config.DATABASE_USER, logger });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The one connection of a database job (the migration Job, the maintenance CronJobs): a single
 * pg Client to the primary, built from the environment contract like the API's pools (same host,
 * credentials and TLS, see `sslOptions` in pg-pools.ts) but without the request-path limits:
 * no `statement_timeout` (an index build or a view refresh may take minutes; the Job's
 * activeDeadlineSeconds bounds the run) and no pool.
 */
import { Client, type ClientConfig } from 'pg';
import type { AppConfig } from '../config';
import { iamTokenProviders } from '../aws/iam-auth';
import { sslOptions } from './pg-pools';

/** How long opening the connection may take; a job has no traffic to protect, so this is generous. */
const CONNECT_TIMEOUT_MS = 10_000;

/** DATABASE_AUTH=iam: pg calls `password` when it connects, so the job signs an RDS IAM token then. */
export function jobClientConfig(config: AppConfig): ClientConfig {
  const signer = iamTokenProviders(config).database;
  const endpoint = { host: config.DATABASE_PRIMARY_HOST, port: config.DATABASE_PORT, user: config.DATABASE_USER };
  return {
    ...endpoint,
    database: config.DATABASE_NAME,
    password: signer ? () => signer(endpoint) : config.DATABASE_PASSWORD,
    ssl: sslOptions(config.DATABASE_SSL, undefined),
    application_name: `${config.LOCATION_ID}-${config.SERVICE_ROLE}`,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
}

/**
 * Connects to the primary. `onError` receives errors the connection raises between queries (the
 * server went away): without a listener such an `error` event would crash the process with no
 * context, and the job's pending query fails on its own anyway.
 */
export async function connectJobClient(config: AppConfig, onError: (error: Error) => void): Promise<Client> {
  const clientConfig = jobClientConfig(config);
  const client = new Client(clientConfig);
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `cannot connect to the primary ${clientConfig.host}:${clientConfig.port} database ${clientConfig.database} as ${clientConfig.user}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return client;
}

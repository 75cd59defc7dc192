/**
 * The migration Job's entry (`node dist/migrate.js up`, see stacks/infra/constructs/database-maintenance-jobs.ts):
 * applies pending migrations to the primary, then makes sure the order partitions of the current
 * and next months exist, so a fresh deploy can take orders at once. Exit 0 when the schema is up to
 * date, 1 on any failure (the Job fails, and with it the apply), 2 on a wrong command line.
 * `down` is deliberately not offered here: reverting a release is a new forward migration.
 */
import { loadConfig } from './config';
import { connectJobClient } from './db/job-connection';
import { migrate } from './db/migrate';
import { ensureOrderPartitions } from './db/order-partitions';

type Level = 'info' | 'warn' | 'error';

function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), service: 'migrate', msg, ...fields });
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
}

async function main(args: readonly string[]): Promise<number> {
  if (args.length !== 1 || args[0] !== 'up') {
    log('error', `usage: migrate up (got ${JSON.stringify(args.join(' '))})`);
    return 2;
  }
  let client;
  try {
    const config = loadConfig();
    client = await connectJobClient(config, (error) => log('error', `database connection lost: ${error.message}`));
    const result = await migrate(client, 'up', {
      logger: { info: (m) => log('info', m), warn: (m) => log('warn', m), error: (m) => log('error', m) },
    });
    log('info', result.names.length > 0 ? `applied ${result.names.length} migration(s)` : 'schema already up to date', { applied: result.names });
    const partitions = await ensureOrderPartitions(client);
    log('info', 'order partitions ensured', { ...partitions });
    if (partitions.rowsLeftInDefault > 0) {
      log('warn', `${partitions.rowsLeftInDefault} order(s) sit in the default partition outside the partition window`);
    }
    return 0;
  } catch (error) {
    log('error', `migration failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

/**
 * The database bootstrap Job's entry (`node dist/db-bootstrap-main.js`, see
 * stacks/infra/constructs/database-bootstrap-job.ts): reads the master login from the break-glass secret
 * (DATABASE_MASTER_SECRET_ARN) and makes the primary ready for the migration Job, which logs in as
 * DATABASE_USER: the role, its IAM login, the database's ownership (app/src/db/bootstrap.ts).
 * Runs before every release's migration and changes nothing once done. Exit 0 when the database
 * is ready (whether or not this run changed anything), 1 on any failure (the Job fails, the apply
 * stops before the migration), 2 on a wrong command line.
 */
import { loadConfig } from './config';
import { runDatabaseBootstrap } from './db/bootstrap';
import { secretsManagerMasterCredentials } from './db/master-secret';

type Level = 'info' | 'warn' | 'error';

function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), service: 'db-bootstrap', msg, ...fields });
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
}

async function main(args: readonly string[]): Promise<number> {
  if (args.length !== 0) {
    log('error', `usage: db-bootstrap (no arguments; got ${JSON.stringify(args.join(' '))})`);
    return 2;
  }
  try {
    const config = loadConfig();
    if (config.SERVICE_ROLE !== 'db-bootstrap') throw new Error(`SERVICE_ROLE must be db-bootstrap for this entry, got ${config.SERVICE_ROLE}`);
    // The contract requires both with SERVICE_ROLE=db-bootstrap; the checks keep the types honest.
    const { DATABASE_MASTER_SECRET_ARN: secretId, AWS_REGION: region } = config;
    if (!secretId || !region) throw new Error('DATABASE_MASTER_SECRET_ARN and AWS_REGION are required');
    const result = await runDatabaseBootstrap(config, secretsManagerMasterCredentials({ region, secretId }), {
      info: (m, f) => log('info', m, f),
      warn: (m, f) => log('warn', m, f),
    });
    const changes = result.steps.filter((s) => s.outcome !== 'unchanged' && s.outcome !== 'skipped').map((s) => s.step);
    log('info', result.changed ? `bootstrapped database ${result.database} for ${result.appUser}: ${changes.join(', ')}` : `database ${result.database} already bootstrapped for ${result.appUser}: nothing changed`, {
      changed: result.changed,
      serverVersion: result.serverVersion,
      masterUser: result.masterUser,
    });
    return 0;
  } catch (error) {
    log('error', `bootstrap failed: ${(error as Error).message}`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

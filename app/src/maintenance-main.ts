/**
 * The maintenance CronJobs' entry (`node dist/maintenance.js <task>`, see MAINTENANCE_TASKS in
 * stacks/infra/constructs/database-maintenance-jobs.ts): runs one task against the primary. Exit 0 on
 * success, 1 on failure (the Job retries up to its backoffLimit), 2 for a missing or unknown task.
 */
import type { Client } from 'pg';
import { loadConfig } from './config';
import { connectJobClient } from './db/job-connection';
import { ensureOrderPartitions } from './db/order-partitions';
import { refreshDailyRevenueSummary } from './db/revenue-summary';

type Level = 'info' | 'warn' | 'error';

function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, time: new Date().toISOString(), service: 'maintenance', msg, ...fields });
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
}

/** Each task's result is logged as the fields of its completion line. */
const TASKS: Readonly<Record<string, (client: Client) => Promise<Record<string, unknown>>>> = {
  'refresh-daily-revenue-summary': async (client) => ({ ...(await refreshDailyRevenueSummary(client)) }),
  'create-order-partitions': async (client) => {
    const report = await ensureOrderPartitions(client);
    if (report.rowsLeftInDefault > 0) {
      log('warn', `${report.rowsLeftInDefault} order(s) sit in the default partition outside the partition window`);
    }
    return { ...report };
  },
};

async function main(args: readonly string[]): Promise<number> {
  const names = Object.keys(TASKS);
  const name = args[0];
  const task = name !== undefined && args.length === 1 && Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
  if (task === undefined || name === undefined) {
    const problem = name === undefined ? 'missing task' : args.length > 1 ? `one task expected, got ${args.length}` : `unknown task ${JSON.stringify(name)}`;
    log('error', `${problem}; usage: maintenance <task>, tasks: ${names.join(', ')}`, { tasks: names });
    return 2;
  }
  let client;
  try {
    const config = loadConfig();
    client = await connectJobClient(config, (error) => log('error', `database connection lost: ${error.message}`));
    const result = await task(client);
    log('info', `${name} done`, { task: name, ...result });
    return 0;
  } catch (error) {
    log('error', `${name} failed: ${(error as Error).message}`, { task: name });
    return 1;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

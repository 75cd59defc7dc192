/**
 * Runs the migration library in its own process (see migrate-support.ts for why) and prints its
 * result as JSON on the last line. Usage: migrate-child.ts <up|down> <database url> <count|all> [dir]
 */
import { Client } from 'pg';
import { migrate } from '../../../app/src/db/migrate';

async function main(): Promise<void> {
  const [direction, url, count, dir] = process.argv.slice(2);
  if ((direction !== 'up' && direction !== 'down') || !url || !count) {
    throw new Error('usage: migrate-child.ts <up|down> <database url> <count|all> [dir]');
  }
  const client = new Client({ connectionString: url, application_name: 'migrate-child' });
  await client.connect();
  try {
    const result = await migrate(client, direction, {
      count: count === 'all' ? Infinity : Number(count),
      dir,
      logger: { info: (m) => console.error(m), warn: (m) => console.error(m), error: (m) => console.error(m) },
    });
    console.log(JSON.stringify(result));
  } finally {
    await client.end();
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});

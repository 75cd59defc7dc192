/**
 * `npm run chaos`: every fault drill (drills.ts) on one local platform (3 api, 3 ws), a bigger load
 * than the jest drills, a table per drill and bench-results/chaos.json. Exit 1 if a drill failed.
 * Every process is probed for readiness as the kubelet would (kubelet-probes.ts); the table shows
 * how often an api turned NotReady and how long every api was NotReady at once (in a cluster: no
 * endpoint in the api Service, 502 for the whole location).
 * Settings: CHAOS_ORDER_RATE (30 orders/s), CHAOS_WS_CLIENTS (30), CHAOS_DRILLS (all, comma-separated).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderTable } from '../../stacks/cli/table';
import { startLocalPlatform } from '../local/platform';
import { DRILLS, runDrill, TEST_DRILL_SETTINGS, type DrillName, type DrillResult, type DrillSettings } from './drills';

const REPO = path.resolve(__dirname, '../..');

async function main(): Promise<number> {
  const rate = Number(process.env.CHAOS_ORDER_RATE ?? 30);
  const settings: DrillSettings = {
    ...TEST_DRILL_SETTINGS,
    ordersPerSecond: rate,
    wsClients: Number(process.env.CHAOS_WS_CLIENTS ?? 30),
    warmupOrders: rate * 3,
    faultOrders: rate * 5,
    afterOrders: rate * 3,
    statusStepDelayMs: 500,
    phaseTimeoutMs: 45_000,
  };
  const drills = (process.env.CHAOS_DRILLS ?? DRILLS.join(',')).split(',') as DrillName[];
  const platform = await startLocalPlatform({ logLevel: 'warn', log: (l) => process.stdout.write(`${l}\n`) });
  const results: DrillResult[] = [];
  try {
    for (const drill of drills) {
      process.stdout.write(`\n== ${drill}: ${rate} orders/s, ${settings.wsClients} websocket clients\n`);
      const result = await runDrill(platform, drill, settings, (l) => process.stdout.write(`   ${l}\n`));
      results.push(result);
      process.stdout.write(`   ${result.passed ? 'PASSED' : 'FAILED'}${result.problems.length ? `: ${result.problems.join('; ')}` : ''}\n`);
    }
  } finally {
    await platform.stop();
  }
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  process.stdout.write(
    `\n${renderTable(
      ['drill', 'result', 'orders acked', 'in db', 'lost', 'dup', 'client errors', 'error rate', 'recovery s', 'ws clients', 'ws reconnects', 'ws missing', 'ws recovery s', 'events not in stream', 'fault s', 'api NotReady', 'no api Ready s', 'no ws Ready s'],
      results.map((r) => [
        r.drill,
        r.passed ? 'passed' : 'FAILED',
        String(r.orders.acknowledged),
        String(r.orders.ordersInDatabase),
        String(r.orders.lost),
        String(r.orders.duplicates),
        `${r.failedAttemptsAfterFault}/${r.attemptsAfterFault}`,
        pct(r.clientErrorRate),
        (r.recoveryMs / 1000).toFixed(2),
        String(r.ws.clients),
        String(r.ws.reconnects),
        String(r.ws.missing),
        (r.wsRecoveryMs / 1000).toFixed(2),
        String(r.eventsMissingFromStreams),
        (r.faultMs / 1000).toFixed(1),
        String(r.readiness.targets.filter((t) => t.role === 'api').reduce((n, t) => n + t.transitions.filter((x) => !x.ready).length, 0)),
        (r.apisAllNotReadyMs / 1000).toFixed(1),
        (r.wssAllNotReadyMs / 1000).toFixed(1),
      ]),
    )}\n`,
  );
  for (const r of results) if (Object.keys(r.failuresByOperation).length) process.stdout.write(`${r.drill} failures by operation and status: ${JSON.stringify(r.failuresByOperation)}\n`);
  const out = path.join(REPO, 'bench-results', 'chaos.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), host: { cpus: os.cpus().length, loadAverage1m: os.loadavg()[0] }, settings, results }, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(REPO, out)}\n`);
  return results.every((r) => r.passed) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`npm run chaos could not run: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);

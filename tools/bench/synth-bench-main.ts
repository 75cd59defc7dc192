/**
 * `npm run bench:synth`: synth wall time and peak memory for 1, 10 and 100 generated locations,
 * each a fresh `npm run synth` process (what a DevOps engineer waits for), on both paths: `synthApp`
 * (the default, `stacks/infra/cdktf-synth.ts`) and cdktf's own synth (`--plain-cdktf`). Target on a
 * 2-core machine: 100 locations within 3x the time of one on the default path, peak RSS under
 * 1 GiB. Runs alternate between sizes and paths so that load from other processes falls on all of
 * them alike; each figure is the best of `BENCH_RUNS`, with the CPU time of that run next to it
 * (less disturbed by other work than wall time). Printed, not asserted: shared machines are noisy.
 *
 * Environment: `BENCH_COUNTS` (default `1,10,100`), `BENCH_RUNS` (default 3), `BENCH_PATHS`
 * (default `synthApp,plain-cdktf`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderTable } from '../../stacks/cli/table';
import { writeGeneratedFleet, type GeneratedFleet } from '../synth/generated-locations';

const REPO = path.resolve(__dirname, '../..');
const COUNTS = (process.env.BENCH_COUNTS ?? '1,10,100').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PATHS = (process.env.BENCH_PATHS ?? 'synthApp,plain-cdktf').split(',') as SynthPath[];
const TARGET_RATIO = 3;

type SynthPath = 'synthApp' | 'plain-cdktf';
interface Measurement { count: number; path: SynthPath; stacks: number; resources: number; wallS: number; cpuS: number; maxRssMiB: number }

const CLOCK_TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/**
 * CPU seconds (user + system) of this process's waited-for children and their descendants so far
 * (`cutime` and `cstime` of /proc/self/stat): less disturbed than wall time by other work on the
 * machine, so it is printed next to it.
 */
function childrenCpuS(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_S;
}

function measureOnce(fleet: GeneratedFleet, work: string, count: number, synthPath: SynthPath): Measurement {
  const report = path.join(work, 'report.json');
  const args = [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'stacks/synth.ts'), '--outdir', path.join(work, 'out'), '--report', report];
  const started = process.hrtime.bigint();
  const cpuBefore = childrenCpuS();
  const result = spawnSync(process.execPath, synthPath === 'plain-cdktf' ? [...args, '--plain-cdktf'] : args, {
    cwd: REPO,
    env: { ...process.env, LOCATIONS_DIR: fleet.locationsDir, PLATFORM_SETTINGS: fleet.platformSettingsFile, CHECKPOINT_DISABLE: '1' },
    encoding: 'utf8',
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuS = childrenCpuS() - cpuBefore;
  if (result.status !== 0) throw new Error(`synth of ${count} locations (${synthPath}) failed:\n${result.stderr}`);
  const r = JSON.parse(fs.readFileSync(report, 'utf8')) as { stacks: unknown[]; totalResources: number; maxRssMiB: number };
  return { count, path: synthPath, stacks: r.stacks.length, resources: r.totalResources, wallS, cpuS, maxRssMiB: r.maxRssMiB };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
const best = new Map<string, Measurement>();
try {
  const fleets = new Map(COUNTS.map((count) => [count, writeGeneratedFleet(path.join(root, String(count)), count)]));
  for (let run = 0; run < RUNS; run++) {
    for (const count of COUNTS) {
      for (const synthPath of PATHS) {
        const m = measureOnce(fleets.get(count)!, path.join(root, String(count)), count, synthPath);
        const key = `${synthPath}:${count}`;
        if (!best.has(key) || m.wallS < best.get(key)!.wallS) best.set(key, m);
      }
    }
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}

const results = PATHS.flatMap((p) => COUNTS.map((count) => best.get(`${p}:${count}`)!));
const smallest = (m: Measurement) => best.get(`${m.path}:${Math.min(...COUNTS)}`)!;
const ratio = (m: Measurement) => m.wallS / smallest(m).wallS;
const cpuRatio = (m: Measurement) => m.cpuS / smallest(m).cpuS;
console.log(
  renderTable(
    ['path', 'locations', 'stacks', 'resources', `wall s (best of ${RUNS})`, 'CPU s (that run)', 'peak RSS MiB', `wall vs ${Math.min(...COUNTS)} location(s)`, 'CPU vs'],
    results.map((r) => [r.path, String(r.count), String(r.stacks), String(r.resources), r.wallS.toFixed(2), r.cpuS.toFixed(2), r.maxRssMiB.toFixed(0), `${ratio(r).toFixed(2)}x`, `${cpuRatio(r).toFixed(2)}x`]),
  ),
);
console.log(`\n${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`);
const largest = Math.max(...COUNTS);
for (const p of PATHS) {
  const m = best.get(`${p}:${largest}`)!;
  const verdict = p === 'synthApp' ? (ratio(m) <= TARGET_RATIO ? ' MET' : ' MISSED') : '';
  console.log(
    `${p}: ${largest}:${Math.min(...COUNTS)} wall time ratio ${ratio(m).toFixed(2)} (target <= ${TARGET_RATIO})${verdict}; CPU time ratio ${cpuRatio(m).toFixed(2)}; ` +
      `peak RSS at ${largest} ${m.maxRssMiB.toFixed(0)} MiB (target < 1024)`,
  );
}
const fast = best.get(`synthApp:${largest}`);
const plain = best.get(`plain-cdktf:${largest}`);
if (fast && plain) console.log(`synthApp vs plain cdktf at ${largest} locations: ${fast.wallS.toFixed(2)} s vs ${plain.wallS.toFixed(2)} s (${(plain.wallS / fast.wallS).toFixed(2)}x faster)`);

/**
 * `npm run bench:synth`: synth wall time and peak memory for 1, 10 and 100 generated locations,
 * each a fresh `npm run synth` process (what a DevOps engineer waits for), and the ratio 100:1.
 * Target on a 2-core machine: 100 locations within 4x the time of one, peak RSS under 1 GiB.
 * Figures are printed, not asserted: shared machines are noisy.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { newLocationYaml } from '../../stacks/cli/location-add';
import { TIERS } from '../../stacks/infra/config/location';
import { renderTable } from '../../stacks/cli/table';
import { platformSettingsYaml } from '../synth/platform-settings';

const REPO = path.resolve(__dirname, '../..');
const REGIONS = ['ap-southeast-1', 'eu-west-2', 'us-east-1'];
const COUNTS = (process.env.BENCH_COUNTS ?? '1,10,100').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);

function generate(dir: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const id = `bench-${String(i).padStart(3, '0')}`;
    const text = newLocationYaml({ id, region: REGIONS[i % REGIONS.length]!, tier: TIERS[i % TIERS.length]!, domain: 'bench.example.com' });
    fs.writeFileSync(path.join(dir, `${id}.yaml`), text);
  }
}

interface Measurement { count: number; stacks: number; resources: number; wallS: number; maxRssMiB: number }

function measure(count: number): Measurement {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `bench-synth-${count}-`));
  const locations = path.join(work, 'locations');
  fs.mkdirSync(locations);
  generate(locations, count);
  // The committed platform.yaml covers the sample regions only; us-east-1 needs a section too.
  const settings = path.join(work, 'platform.yaml');
  fs.writeFileSync(settings, platformSettingsYaml(REGIONS));
  let best: Measurement | undefined;
  for (let run = 0; run < RUNS; run++) {
    const report = path.join(work, `report-${run}.json`);
    const started = process.hrtime.bigint();
    const result = spawnSync(
      process.execPath,
      [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), path.join(REPO, 'stacks/synth.ts'), '--outdir', path.join(work, 'out'), '--report', report],
      { cwd: REPO, env: { ...process.env, LOCATIONS_DIR: locations, PLATFORM_SETTINGS: settings, CHECKPOINT_DISABLE: '1' }, encoding: 'utf8' },
    );
    const wallS = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`synth of ${count} locations failed:\n${result.stderr}`);
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as { stacks: unknown[]; totalResources: number; maxRssMiB: number };
    const m = { count, stacks: r.stacks.length, resources: r.totalResources, wallS, maxRssMiB: r.maxRssMiB };
    if (!best || m.wallS < best.wallS) best = m;
  }
  fs.rmSync(work, { recursive: true, force: true });
  return best!;
}

const results = COUNTS.map(measure);
const one = results.find((r) => r.count === 1) ?? results[0]!;
console.log(
  renderTable(
    ['locations', 'stacks', 'resources', 'wall s (best of ' + RUNS + ')', 'peak RSS MiB', 'time vs 1 location'],
    results.map((r) => [String(r.count), String(r.stacks), String(r.resources), r.wallS.toFixed(2), r.maxRssMiB.toFixed(0), `${(r.wallS / one.wallS).toFixed(2)}x`]),
  ),
);
const hundred = results.find((r) => r.count === 100);
if (hundred) {
  console.log(`\n100:1 time ratio ${(hundred.wallS / one.wallS).toFixed(2)} (target <= 4); peak RSS at 100 ${hundred.maxRssMiB.toFixed(0)} MiB (target < 1024)`);
}

/**
 * `synthesize()` runs cdktf's synth through `synthApp` (stacks/infra/cdktf-synth.ts), which skips
 * the resolution work cdktf repeats. These tests hold it to cdktf's own synth of the same app:
 * every file of the output folder, manifest.json included, byte for byte, for generated locations
 * in three regions and the samples; and to the staging swap: a failed synth leaves the previous
 * output as it was. Both sides are synthesized in the same run, so a change to any stack is
 * compared as it is now, not against stored output.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Aspects, TerraformStack, Token } from '../../stacks/infra/cdktf';
import { synthApp } from '../../stacks/infra/cdktf-synth';
import type { Location } from '../../stacks/infra/config/location';
import { buildPlatformApp } from '../../stacks/infra/platform-app';
import { loadSynthInputs, type SynthInputs } from '../../stacks/synth-options';
import { synthesize } from '../../stacks/synthesize';
import { writeGeneratedFleet } from '../../tools/synth/generated-locations';

const REPO = path.join(__dirname, '../..');

/** Every file under `dir` by path relative to it, with its bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(path.relative(dir, full), fs.readFileSync(full));
    }
  };
  walk(dir);
  return files;
}

/** The paths whose bytes differ between two output folders, or that only one of them has. */
function differingFiles(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].sort().filter((file) => !a.get(file) || !b.get(file) || !a.get(file)!.equals(b.get(file)!));
}

/** cdktf's own synth of the whole app, the way `cdktf synth` runs `stacks/main.ts`. */
function plainCdktfSynth(inputs: SynthInputs, outdir: string): void {
  const { locations, locationsDir: _l, platformSettingsFile: _p, ...options } = inputs;
  const app = new App({ outdir });
  buildPlatformApp(app, { locations, ...options });
  app.synth();
}

describe('synthesize()', () => {
  let work = '';
  let env: Record<string, string> = {};

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'synthesize-test-'));
    // Generated locations in three regions, every tier, and the samples with their overrides.
    const fleet = writeGeneratedFleet(path.join(work, 'fleet'), 5);
    for (const sample of fs.readdirSync(path.join(REPO, 'locations'))) fs.copyFileSync(path.join(REPO, 'locations', sample), path.join(fleet.locationsDir, sample));
    env = { LOCATIONS_DIR: fleet.locationsDir, PLATFORM_SETTINGS: fleet.platformSettingsFile };
  });
  afterAll(() => work && fs.rmSync(work, { recursive: true, force: true }));

  test.each(['s3', 'local'])('writes every file cdktf writes, byte for byte, manifest.json included (%s backend)', (backend) => {
    const inputs = loadSynthInputs({ ...process.env, ...env, TF_BACKEND: backend });
    expect(new Set(inputs.locations.map((l) => l.region))).toEqual(new Set(['ap-southeast-1', 'eu-west-2', 'us-east-1']));
    const fast = path.join(work, `fast-${backend}`);
    const plain = path.join(work, `plain-${backend}`);
    const { locations, ...options } = inputs;
    const result = synthesize(locations, options, fast);
    plainCdktfSynth(inputs, plain);

    const fastFiles = filesUnder(fast);
    const plainFiles = filesUnder(plain);
    expect(differingFiles(fastFiles, plainFiles)).toEqual([]);
    expect(fastFiles.has('manifest.json')).toBe(true);
    // 8 locations: a data and an app stack each, a platform and an addons stack per region.
    expect(result.stacks).toHaveLength(8 * 2 + 3 * 2);
    expect([...fastFiles.keys()].filter((f) => f.endsWith('cdk.tf.json'))).toHaveLength(result.stacks.length);
  });

  test('the comparison fails on a one-byte difference', () => {
    const a = new Map([['stacks/x/cdk.tf.json', Buffer.from('{"a": 1}')]]);
    expect(differingFiles(a, new Map([['stacks/x/cdk.tf.json', Buffer.from('{"a": 2}')]]))).toEqual(['stacks/x/cdk.tf.json']);
    expect(differingFiles(a, new Map([...a, ['manifest.json', Buffer.from('{}')]]))).toEqual(['manifest.json']);
  });

  test.each([false, true])('a synth that fails leaves the previous output as it was and no staging folder (plainCdktf: %s)', (plainCdktf) => {
    const { locations, ...options } = loadSynthInputs({ ...process.env, ...env, TF_BACKEND: 'local' });
    const parent = path.join(work, `atomic-${plainCdktf}`);
    const outdir = path.join(parent, 'cdktf.out');
    synthesize(locations, options, outdir, { plainCdktf });
    const before = filesUnder(outdir);

    // A value that cannot be resolved, in the last location: the app builds, its synth throws.
    const unavailable = Token.asString({ creationStack: [], resolve: () => { throw new Error('alert address unavailable'); }, toString: () => 'unavailable' });
    const broken: Location[] = locations.map((l, i) => (i === locations.length - 1 ? { ...l, alertEmail: unavailable } : l));
    expect(() => synthesize(broken, options, outdir, { plainCdktf })).toThrow('alert address unavailable');

    expect(differingFiles(filesUnder(outdir), before)).toEqual([]);
    expect(fs.readdirSync(parent)).toEqual(['cdktf.out']);
  });
});

describe('synthApp', () => {
  const built = () => {
    const { locations, locationsDir: _l, platformSettingsFile: _p, ...options } = loadSynthInputs({ ...process.env, TF_BACKEND: 'local' });
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-app-test-'));
    const app = new App({ outdir });
    buildPlatformApp(app, { locations, ...options });
    const stacks = app.node.findAll().filter((c) => TerraformStack.isStack(c));
    return { app, stacks, outdir };
  };
  const takenOver = (stack: object) => Object.hasOwn(stack, 'prepareStack') && Object.hasOwn(stack, 'toTerraform');

  test('takes over preparing and writing every stack (what the comparison above measures)', () => {
    const { app, stacks, outdir } = built();
    try {
      synthApp(app);
      expect(stacks.length).toBeGreaterThan(0);
      expect(stacks.filter((s) => !takenOver(s))).toEqual([]);
      expect(fs.existsSync(path.join(outdir, 'manifest.json'))).toBe(true);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('leaves an app with an aspect to cdktf alone: aspects run after preparing and may change elements', () => {
    const { app, stacks, outdir } = built();
    try {
      Aspects.of(stacks[0]!).add({ visit: () => undefined });
      synthApp(app);
      expect(stacks.filter((s) => takenOver(s))).toEqual([]);
      expect(fs.existsSync(path.join(outdir, 'manifest.json'))).toBe(true);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

/** The main job, run as DevOps runs it: `npm run synth` (stacks/synth.ts) in a child process. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.join(__dirname, '../..');

function runSynth(outdir: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/synth.ts', '--outdir', outdir], {
    cwd: REPO,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe('npm run synth', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-job-'));
  const outdir = path.join(work, 'cdktf.out');
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('synthesizes every sample location and prints stacks, resource counts and sizing', () => {
    const result = runSynth(outdir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^kanchanaburi-resort-data\s+kanchanaburi-resort\s+ap-southeast-1\s+\d+\s+\d+\s+\d+$/m);
    expect(result.stdout).toMatch(/^sukhumvit-cafe-app\s+sukhumvit-cafe\s+ap-southeast-1\s+\d+/m);
    expect(result.stdout).toMatch(/^platform-eu-west-2\s+\(region\)\s+eu-west-2\s+\d+/m);
    expect(result.stdout).toMatch(/^sukhumvit-cafe\s+ap-southeast-1\s+small\s+36\s+20\s+db\.t4g\.medium\s+0\s/m);
    expect(result.stdout).toMatch(/synthesized 10 stacks \(\d+ resources\) for 3 location\(s\)/);
    expect(fs.readdirSync(path.join(outdir, 'stacks')).sort()).toHaveLength(10);
    expect(fs.readdirSync(work)).toEqual(['cdktf.out']);
  });

  test('fails on a bad location naming it, and leaves the previous output untouched', () => {
    const before = fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8');
    const bad = path.join(work, 'bad-locations');
    fs.mkdirSync(bad);
    fs.copyFileSync(path.join(REPO, 'locations/sukhumvit-cafe.yaml'), path.join(bad, 'sukhumvit-cafe.yaml'));
    fs.writeFileSync(path.join(bad, 'broken-cafe.yaml'), fs.readFileSync(path.join(REPO, 'locations/sukhumvit-cafe.yaml'), 'utf8')
      .replace('id: sukhumvit-cafe', 'id: broken-cafe').replace(/sukhumvit-cafe\./g, 'broken-cafe.').replace('peakOrdersPerMinute: 20', 'peakOrdersPerMinute: lots'));
    const result = runSynth(outdir, { LOCATIONS_DIR: bad });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('broken-cafe.yaml: business.peakOrdersPerMinute must be a number, got "lots"');
    expect(result.stderr).toContain('Nothing was synthesized.');
    expect(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')).toBe(before);
    expect(fs.readdirSync(work).sort()).toEqual(['bad-locations', 'cdktf.out']);
  });

  test('refuses an unpinned image tag', () => {
    const result = runSynth(outdir, { APP_IMAGE_TAG: 'latest' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('APP_IMAGE_TAG must be a pinned image tag (letters, digits, _.-; not "latest"), got "latest"\nNothing was synthesized.\n');
  });
});

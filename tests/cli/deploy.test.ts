/**
 * `npm run deploy|diff -- <location-glob>...` against a stand-in cdktf that records its
 * arguments, over a locations directory of the test's own (the sample set may change).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runDeploy, type DeployIo } from '../../stacks/cli/deploy';
import { cdktfCommands, deployStages, selectLocations } from '../../stacks/cli/deploy-stages';
import { loadLocations } from '../../stacks/infra/config/load-locations';
import { SAMPLE_LOCATIONS_DIR, synthPlatform } from '../../tools/synth/synth-platform';

const REPO = path.join(__dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-cli-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function locationYaml(id: string, region: string): string {
  return `id: ${id}
displayName: "${id}"
region: ${region}
availabilityZones: [${region}a, ${region}b]
business: {seats: 30, peakOrdersPerMinute: 20}
domains: {api: api.${id}.example.com, cdn: cdn.${id}.example.com}
tags: {cost-center: cc-1, owner: platform-team}
alertEmail: ops@example.com
`;
}

const LOCATIONS_DIR = path.join(work, 'locations');
fs.mkdirSync(LOCATIONS_DIR);
for (const [id, region] of [
  ['sukhumvit-cafe', 'ap-southeast-1'],
  ['sukhumvit-bistro', 'ap-southeast-1'],
  ['kanchanaburi-resort', 'ap-southeast-1'],
  ['london-shoreditch', 'eu-west-2'],
]) {
  fs.writeFileSync(path.join(LOCATIONS_DIR, `${id}.yaml`), locationYaml(id!, region!));
}
const LOCATION_LIST = 'locations: kanchanaburi-resort, london-shoreditch, sukhumvit-bistro, sukhumvit-cafe';

/**
 * A cdktf that appends its arguments (one run per line) to $CDKTF_RECORD and its working
 * directory to $CDKTF_RECORD.cwd, and exits 3 when its arguments start with $CDKTF_FAIL_ON.
 */
const STAND_IN_DIR = path.join(work, 'bin');
fs.mkdirSync(STAND_IN_DIR);
const STAND_IN = path.join(STAND_IN_DIR, 'cdktf-stand-in');
fs.writeFileSync(
  STAND_IN,
  `#!/bin/sh
echo "$*" >> "$CDKTF_RECORD"
pwd >> "$CDKTF_RECORD.cwd"
case "$*" in "$CDKTF_FAIL_ON"*) [ -n "$CDKTF_FAIL_ON" ] && exit 3;; esac
exit 0
`,
  { mode: 0o755 },
);

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  /** The stand-in's runs, one argument line each; empty when it never ran. */
  readonly runs: string[];
  readonly cwds: string[];
}

let runCount = 0;
function run(verb: 'deploy' | 'diff', args: string[], env: Record<string, string> = {}): Run {
  const record = path.join(work, `record-${++runCount}`);
  const out: string[] = [];
  const err: string[] = [];
  const io: DeployIo = { out: (line) => out.push(line), err: (line) => err.push(line) };
  const code = runDeploy(verb, args, { ...process.env, LOCATIONS_DIR, CDKTF_BIN: STAND_IN, CDKTF_RECORD: record, ...env }, io);
  const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trimEnd().split('\n') : []);
  return { code, out, err, runs: lines(record), cwds: lines(`${record}.cwd`) };
}

describe('npm run deploy', () => {
  test("deploys 'sukhumvit-*': synth once, then platform, data, addons, app, one cdktf run per stage", () => {
    const result = run('deploy', ['sukhumvit-*']);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.runs).toEqual([
      'synth',
      'deploy platform-ap-southeast-1 --skip-synth',
      'deploy sukhumvit-bistro-data sukhumvit-cafe-data --skip-synth --ignore-missing-stack-dependencies',
      'deploy addons-ap-southeast-1 --skip-synth --ignore-missing-stack-dependencies',
      'deploy sukhumvit-bistro-app sukhumvit-cafe-app --skip-synth --ignore-missing-stack-dependencies',
    ]);
    // cdktf reads cdktf.json (and writes cdktf.out) in its working directory.
    expect(new Set(result.cwds)).toEqual(new Set([fs.realpathSync(REPO)]));
  });

  test('deploys two locations in two regions: each stage covers both regions', () => {
    const result = run('deploy', ['london-shoreditch', 'sukhumvit-c?fe', '--auto-approve']);
    expect(result.code).toBe(0);
    expect(result.runs).toEqual([
      'synth',
      'deploy platform-ap-southeast-1 platform-eu-west-2 --skip-synth --auto-approve',
      'deploy london-shoreditch-data sukhumvit-cafe-data --skip-synth --ignore-missing-stack-dependencies --auto-approve',
      'deploy addons-ap-southeast-1 addons-eu-west-2 --skip-synth --ignore-missing-stack-dependencies --auto-approve',
      'deploy london-shoreditch-app sukhumvit-cafe-app --skip-synth --ignore-missing-stack-dependencies --auto-approve',
    ]);
  });

  test('--dry-run prints the command lines and runs nothing', () => {
    const result = run('deploy', ['sukhumvit-cafe', '--dry-run', '--auto-approve']);
    expect(result.code).toBe(0);
    expect(result.runs).toEqual([]);
    expect(result.out).toEqual([
      `${STAND_IN} synth`,
      `${STAND_IN} deploy platform-ap-southeast-1 --skip-synth --auto-approve`,
      `${STAND_IN} deploy sukhumvit-cafe-data --skip-synth --ignore-missing-stack-dependencies --auto-approve`,
      `${STAND_IN} deploy addons-ap-southeast-1 --skip-synth --ignore-missing-stack-dependencies --auto-approve`,
      `${STAND_IN} deploy sukhumvit-cafe-app --skip-synth --ignore-missing-stack-dependencies --auto-approve`,
    ]);
  });

  test('--dry-run shows the default cdktf relative to the repo root', () => {
    const { CDKTF_BIN: _unused, ...env } = process.env;
    const out: string[] = [];
    const code = runDeploy('deploy', ['london-*', '--dry-run'], { ...env, LOCATIONS_DIR }, { out: (l) => out.push(l), err: () => undefined });
    expect(code).toBe(0);
    expect(out[0]).toBe('node_modules/.bin/cdktf synth');
    expect(out[1]).toBe('node_modules/.bin/cdktf deploy platform-eu-west-2 --skip-synth');
  });

  test('fails when a stage fails: later stages do not run and the exit code is cdktf\'s', () => {
    const result = run('deploy', ['sukhumvit-*'], { CDKTF_FAIL_ON: 'deploy sukhumvit-bistro-data' });
    expect(result.code).toBe(3);
    expect(result.runs).toEqual([
      'synth',
      'deploy platform-ap-southeast-1 --skip-synth',
      'deploy sukhumvit-bistro-data sukhumvit-cafe-data --skip-synth --ignore-missing-stack-dependencies',
    ]);
    expect(result.err).toEqual([
      `error: ${STAND_IN} deploy sukhumvit-bistro-data sukhumvit-cafe-data --skip-synth --ignore-missing-stack-dependencies exited with 3; ` +
        'not run: addons-ap-southeast-1, sukhumvit-bistro-app, sukhumvit-cafe-app',
    ]);
  });

  test('fails when synth fails, deploying nothing', () => {
    const result = run('deploy', ['sukhumvit-cafe'], { CDKTF_FAIL_ON: 'synth' });
    expect(result.code).toBe(3);
    expect(result.runs).toEqual(['synth']);
  });

  test('finds a cdktf named by CDKTF_BIN in PATH', () => {
    const result = run('deploy', ['london-shoreditch'], { CDKTF_BIN: 'cdktf-stand-in', PATH: `${STAND_IN_DIR}${path.delimiter}${process.env.PATH}` });
    expect(result.code).toBe(0);
    expect(result.runs[0]).toBe('synth');
    expect(result.runs).toHaveLength(5);
  });

  test('fails naming the cdktf it looked for, and npm ci, when it is missing', () => {
    const missing = path.join(work, 'no-such-cdktf');
    const result = run('deploy', ['london-shoreditch'], { CDKTF_BIN: missing });
    expect(result.code).toBe(1);
    expect(result.err).toEqual([
      `error: cdktf not found at ${missing} (CDKTF_BIN): run \`npm ci\` to install cdktf-cli, or set CDKTF_BIN to a cdktf binary`,
    ]);
    expect(result.runs).toEqual([]);
  });

  test('fails when a location file is bad, listing its problems and running nothing', () => {
    const dir = path.join(work, 'bad-locations');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'patong--beach.yaml'), locationYaml('patong--beach', 'ap-southeast-1'));
    const result = run('deploy', ['*'], { LOCATIONS_DIR: dir });
    expect(result.code).toBe(1);
    expect(result.err[0]).toMatch(/patong--beach\.yaml: id must not contain two hyphens in a row/);
    expect(result.err[1]).toBe('Nothing was deployed.');
    expect(result.runs).toEqual([]);
  });

  test.each<[string, string[], string]>([
    ['no glob', [], 'error: name the locations to deploy: no location glob given'],
    ['only flags', ['--dry-run'], 'error: name the locations to deploy: no location glob given'],
    ['an unknown flag', ['sukhumvit-*', '--force'], 'error: unknown option --force (deploy takes --dry-run, --auto-approve)'],
    ['an unknown short flag', ['sukhumvit-*', '-y'], 'error: unknown option -y (deploy takes --dry-run, --auto-approve)'],
    ['a value for a flag', ['sukhumvit-*', '--dry-run=yes'], 'error: --dry-run takes no value, got "--dry-run=yes"'],
    ['a glob matching nothing', ['patong-*'], "error: no location matches 'patong-*'"],
    ['one of two globs matching nothing', ['sukhumvit-*', 'londn-*', 'x?'], "error: no location matches 'londn-*', 'x?'"],
  ])('exits 2 with usage and the locations on %s', (_what, args, message) => {
    const result = run('deploy', args);
    expect(result.code).toBe(2);
    expect(result.err).toEqual([`${message}\nusage: npm run deploy -- <location-glob>... [--dry-run] [--auto-approve]`, LOCATION_LIST]);
    expect(result.runs).toEqual([]);
  });
});

describe('npm run diff', () => {
  test('diffs each stack in deploy order, one cdktf diff per stack (cdktf diff takes one), never approving', () => {
    const result = run('diff', ['sukhumvit-*']);
    expect(result.code).toBe(0);
    expect(result.runs).toEqual([
      'synth',
      'diff platform-ap-southeast-1 --skip-synth',
      'diff sukhumvit-bistro-data --skip-synth',
      'diff sukhumvit-cafe-data --skip-synth',
      'diff addons-ap-southeast-1 --skip-synth',
      'diff sukhumvit-bistro-app --skip-synth',
      'diff sukhumvit-cafe-app --skip-synth',
    ]);
  });

  test('stops at the first failing diff with its exit code', () => {
    const result = run('diff', ['sukhumvit-cafe'], { CDKTF_FAIL_ON: 'diff addons' });
    expect(result.code).toBe(3);
    expect(result.runs.at(-1)).toBe('diff addons-ap-southeast-1 --skip-synth');
    expect(result.err).toEqual([`error: ${STAND_IN} diff addons-ap-southeast-1 --skip-synth exited with 3; not run: sukhumvit-cafe-app`]);
  });

  test('--dry-run prints and runs nothing', () => {
    const result = run('diff', ['london-*', '--dry-run']);
    expect(result.runs).toEqual([]);
    expect(result.out).toEqual([
      `${STAND_IN} synth`,
      `${STAND_IN} diff platform-eu-west-2 --skip-synth`,
      `${STAND_IN} diff london-shoreditch-data --skip-synth`,
      `${STAND_IN} diff addons-eu-west-2 --skip-synth`,
      `${STAND_IN} diff london-shoreditch-app --skip-synth`,
    ]);
  });

  test('exits 2 on --auto-approve: a diff applies nothing', () => {
    const result = run('diff', ['london-*', '--auto-approve']);
    expect(result.code).toBe(2);
    expect(result.err).toEqual(['error: unknown option --auto-approve (diff takes --dry-run)\nusage: npm run diff -- <location-glob>... [--dry-run]', LOCATION_LIST]);
  });
});

describe('the npm script', () => {
  test('exits with the failed stage\'s code (stacks/cli/deploy.ts deploy, as package.json runs it)', () => {
    const record = path.join(work, 'record-script');
    const result = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/cli/deploy.ts', 'deploy', 'sukhumvit-cafe'], {
      cwd: REPO,
      env: { ...process.env, LOCATIONS_DIR, CDKTF_BIN: STAND_IN, CDKTF_RECORD: record, CDKTF_FAIL_ON: 'deploy addons' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(3);
    expect(result.stdout).toContain(`$ ${STAND_IN} deploy addons-ap-southeast-1 --skip-synth --ignore-missing-stack-dependencies\n`);
    expect(result.stderr).toContain('; not run: sukhumvit-cafe-app');
    expect(fs.readFileSync(record, 'utf8').trimEnd().split('\n')).toHaveLength(4);
    const scripts = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.deploy).toBe('tsx stacks/cli/deploy.ts deploy');
    expect(scripts.diff).toBe('tsx stacks/cli/deploy.ts diff');
  });
});

describe('the deploy order', () => {
  test('agrees with the stack dependencies cdktf synthesizes: each stack\'s dependencies deploy in an earlier stage or are not being deployed', () => {
    const { outdir } = synthPlatform({ TF_BACKEND: 'local' });
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { dependencies: string[] }> };
      const locations = loadLocations(SAMPLE_LOCATIONS_DIR);
      const selections = [...locations.map((l) => [l.id]), ['*']];
      const outOfOrder: string[] = [];
      for (const globs of selections) {
        const stages = deployStages(selectLocations(locations, globs).selected);
        const stageOf = new Map(stages.flatMap((stage, i) => stage.stacks.map((stack) => [stack, i] as const)));
        expect([...stageOf.keys()].filter((stack) => !manifest.stacks[stack])).toEqual([]);
        for (const [stack, i] of stageOf) {
          for (const dependency of manifest.stacks[stack]!.dependencies) {
            const at = stageOf.get(dependency);
            if (at !== undefined && at >= i) outOfOrder.push(`${globs.join(' ')}: ${stack} (stage ${i}) depends on ${dependency} (stage ${at})`);
          }
        }
      }
      expect(outOfOrder).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('a stage after the first tolerates dependencies outside its run; the first needs none', () => {
    const stages = deployStages(loadLocations(SAMPLE_LOCATIONS_DIR).filter((l) => l.id === 'sukhumvit-cafe'));
    const [platform, ...rest] = cdktfCommands('deploy', stages).slice(1);
    expect(platform!.args).not.toContain('--ignore-missing-stack-dependencies');
    for (const command of rest) expect(command.args).toContain('--ignore-missing-stack-dependencies');
  });
});

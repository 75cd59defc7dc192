/**
 * `npm run affected`: which locations a change makes deployable, with region and deploy role (the
 * matrix of .github/workflows/deploy.yml and drift.yml). The mapping on its own, then the command
 * in a temporary clone with a changed location file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Location } from '../../stacks/infra/config/location';
import type { ClusterAccessEntry, PlatformSettings } from '../../stacks/infra/config/platform-settings';
import type { AffectedStacks } from '../../stacks/checks/plan/affected-stacks';
import { deployRoleOf, deployTargets, renderDeployTargets, type DeployTargets } from '../../stacks/checks/plan/deploy-targets';
import { SettingsError } from '../../stacks/settings-error';
import type { StackSummary } from '../../stacks/synthesize';

const REPO = path.join(__dirname, '../..');
const DEPLOY = 'arn:aws:iam::111122223333:role/platform-deploy';
const DEPLOY_EU = 'arn:aws:iam::111122223333:role/platform-deploy-eu';

const locations = [
  { id: 'sukhumvit-cafe', region: 'ap-southeast-1' },
  { id: 'kanchanaburi-resort', region: 'ap-southeast-1' },
  { id: 'london-shoreditch', region: 'eu-west-2' },
] as unknown as Location[];

function settingsWith(access: Record<string, ClusterAccessEntry[]>): PlatformSettings {
  return {
    stateBackend: { bucket: 'b', region: 'ap-southeast-1', keyPrefix: 'p' },
    hostedZones: [],
    sourceFile: 'platform.yaml',
    regions: new Map(Object.entries(access).map(([region, clusterAccess]) => [region, { region, clusterEndpointAccess: { cidrs: ['10.0.0.0/8'], securityGroupIds: [] }, clusterAccess }])),
  };
}

const settings = settingsWith({
  'ap-southeast-1': [
    { principalArn: 'arn:aws:iam::111122223333:user/break-glass', access: 'admin' },
    { principalArn: 'arn:aws:iam::111122223333:role/platform-oncall', access: 'view' },
    { principalArn: DEPLOY, access: 'admin' },
    { principalArn: 'arn:aws:iam::111122223333:role/second-admin', access: 'admin' },
  ],
  'eu-west-2': [{ principalArn: DEPLOY_EU, access: 'admin' }],
});

const summary = (stack: string, region: string, location?: string): StackSummary => ({
  stack, kind: location ? (stack.endsWith('-app') ? 'app' : 'data') : stack.startsWith('platform') ? 'platform' : 'addons', region, location, resources: 1, dataSources: 0, outputs: 0,
});
const stacks: StackSummary[] = [
  summary('platform-ap-southeast-1', 'ap-southeast-1'),
  summary('addons-ap-southeast-1', 'ap-southeast-1'),
  summary('platform-eu-west-2', 'eu-west-2'),
  summary('addons-eu-west-2', 'eu-west-2'),
  ...locations.flatMap((l) => [summary(`${l.id}-data`, l.region, l.id), summary(`${l.id}-app`, l.region, l.id)]),
];

const affectedBy = (affected: AffectedStacks['affected'], removed: string[] = []): AffectedStacks => ({
  ref: 'abc123',
  affected,
  unaffected: stacks.map((s) => s.stack).filter((s) => !affected.some((a) => a.stack === s)),
  removed,
});

describe('the locations to deploy', () => {
  test('a changed location file deploys that location only, with its reasons', () => {
    const targets = deployTargets({
      locations, settings, stacks,
      affected: affectedBy([
        { stack: 'sukhumvit-cafe-data', changedKeys: ['resource'] },
        { stack: 'sukhumvit-cafe-app', changedKeys: [], through: 'sukhumvit-cafe-data' },
      ]),
    });
    expect(targets).toEqual({
      since: 'abc123',
      locations: [
        { location: 'sukhumvit-cafe', region: 'ap-southeast-1', deployRole: DEPLOY, reasons: ['sukhumvit-cafe-data: changed: resource', 'sukhumvit-cafe-app: affected through sukhumvit-cafe-data'] },
      ],
      regions: [{ region: 'ap-southeast-1', deployRole: DEPLOY, locations: ['sukhumvit-cafe'] }],
      removed: [],
    });
  });

  test('a changed platform stack deploys every location of its region, which reads its outputs', () => {
    const targets = deployTargets({
      locations, settings, stacks,
      affected: affectedBy([
        { stack: 'platform-eu-west-2', changedKeys: ['resource'] },
        { stack: 'london-shoreditch-data', changedKeys: [], through: 'platform-eu-west-2' },
      ]),
    });
    expect(targets.locations).toEqual([
      {
        location: 'london-shoreditch', region: 'eu-west-2', deployRole: DEPLOY_EU,
        reasons: ['london-shoreditch-data: affected through platform-eu-west-2', 'platform-eu-west-2: changed: resource (a region stack, deployed with each location of eu-west-2)'],
      },
    ]);
  });

  test('a changed addons stack, which no stack reads, still deploys the locations of its region', () => {
    const targets = deployTargets({ locations, settings, stacks, affected: affectedBy([{ stack: 'addons-ap-southeast-1', changedKeys: ['resource'] }]) });
    expect(targets.locations.map((l) => [l.location, l.reasons])).toEqual([
      ['sukhumvit-cafe', ['addons-ap-southeast-1: changed: resource (a region stack, deployed with each location of ap-southeast-1)']],
      ['kanchanaburi-resort', ['addons-ap-southeast-1: changed: resource (a region stack, deployed with each location of ap-southeast-1)']],
    ]);
    expect(targets.regions).toEqual([{ region: 'ap-southeast-1', deployRole: DEPLOY, locations: ['sukhumvit-cafe', 'kanchanaburi-resort'] }]);
  });

  test('nothing affected deploys nothing; removed stacks are passed on and named for people', () => {
    const targets = deployTargets({ locations, settings, stacks, affected: affectedBy([], ['old-cafe-data', 'old-cafe-app']) });
    expect(targets).toEqual({ since: 'abc123', locations: [], regions: [], removed: ['old-cafe-data', 'old-cafe-app'] });
    expect(renderDeployTargets(targets, 3)).toEqual([
      '0 of 3 location(s) to deploy (affected since abc123):',
      'REMOVED since abc123: old-cafe-data, old-cafe-app. No deploy destroys a stack; destroy each deliberately from a checkout of abc123 (npx cdktf destroy <stack>).',
    ]);
  });

  test('without a change (--all) every location is listed, grouped by region', () => {
    const targets = deployTargets({ locations, settings, stacks: [] });
    expect(targets.since).toBeUndefined();
    expect(targets.locations.map((l) => l.location)).toEqual(['sukhumvit-cafe', 'kanchanaburi-resort', 'london-shoreditch']);
    expect(targets.regions).toEqual([
      { region: 'ap-southeast-1', deployRole: DEPLOY, locations: ['sukhumvit-cafe', 'kanchanaburi-resort'] },
      { region: 'eu-west-2', deployRole: DEPLOY_EU, locations: ['london-shoreditch'] },
    ]);
  });
});

describe('the deploy role', () => {
  test('is the first admin role of the region in platform.yaml, not an admin user or a view role', () => {
    expect(deployRoleOf(settings, 'ap-southeast-1')).toBe(DEPLOY);
    expect(deployRoleOf(settings, 'eu-west-2')).toBe(DEPLOY_EU);
  });

  test('fails when the region has only admin users, which OIDC cannot assume', () => {
    const users = settingsWith({ 'eu-west-2': [{ principalArn: 'arn:aws:iam::111122223333:user/alice', access: 'admin' }] });
    expect(() => deployRoleOf(users, 'eu-west-2')).toThrow(
      new SettingsError('platform.yaml: regions.eu-west-2.clusterAccess needs an admin IAM role for CI to assume through OIDC (users cannot be assumed), got "arn:aws:iam::111122223333:user/alice"'),
    );
  });

  test('fails when the region has no section', () => {
    expect(() => deployRoleOf(settings, 'us-east-1')).toThrow(new SettingsError('platform.yaml: regions.us-east-1 is required: a location is in us-east-1, got no section'));
  });
});

describe('npm run affected', () => {
  const affected = (cwd: string, args: string[]) =>
    spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/checks/plan/affected-main.ts', ...args], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, CHECKPOINT_DISABLE: '1', LOCATIONS_DIR: undefined, PLATFORM_SETTINGS: undefined },
    });
  let work = '';
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'affected-main-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('--all lists every sample location with the deploy role platform.yaml names', () => {
    const out = path.join(work, 'all.json');
    const run = affected(REPO, ['--all', '--out', out]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const targets = JSON.parse(fs.readFileSync(out, 'utf8')) as DeployTargets;
    expect(targets.regions).toEqual([
      { region: 'ap-southeast-1', deployRole: 'arn:aws:iam::111122223333:role/platform-deploy', locations: ['kanchanaburi-resort', 'sukhumvit-cafe'] },
      { region: 'eu-west-2', deployRole: 'arn:aws:iam::111122223333:role/platform-deploy', locations: ['london-shoreditch'] },
    ]);
    expect(run.stdout).toContain('3 of 3 location(s) to deploy:');
  }, 60_000);

  test('fails with exit 2 and the usage without --since or --all', () => {
    const run = affected(REPO, []);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('give exactly one of --since <git-ref> and --all\nusage: npm run affected -- (--since <git-ref> | --all) [--out FILE]\n');
  }, 60_000);

  test('--since HEAD in a clone with a changed location file lists exactly that location', () => {
    const clone = path.join(work, 'repo');
    const git = (...args: string[]) => {
      const run = spawnSync('git', args, { cwd: clone, encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
    };
    spawnSync('git', ['clone', '--quiet', REPO, clone], { encoding: 'utf8' });
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
    // The code under test may not be committed yet: this repo's stacks/ as it is now becomes the clone's HEAD.
    fs.cpSync(path.join(REPO, 'stacks'), path.join(clone, 'stacks'), { recursive: true });
    git('add', '-A', 'stacks');
    git('-c', 'user.name=affected-test', '-c', 'user.email=affected-test@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'code under test');
    const file = path.join(clone, 'locations/london-shoreditch.json');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('"ops-');
    fs.writeFileSync(file, text.replace('"ops-', '"ops-night-'));

    const out = path.join(work, 'since.json');
    const run = affected(clone, ['--since', 'HEAD', '--out', out]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const targets = JSON.parse(fs.readFileSync(out, 'utf8')) as DeployTargets;
    expect(targets.since).toBe('HEAD');
    expect(targets.locations.map((l) => [l.location, l.region, l.deployRole])).toEqual([['london-shoreditch', 'eu-west-2', 'arn:aws:iam::111122223333:role/platform-deploy']]);
    expect(targets.locations[0]!.reasons[0]).toBe('london-shoreditch-data: changed: resource');
    expect(targets.removed).toEqual([]);
  }, 300_000);
});

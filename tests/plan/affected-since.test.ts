/**
 * `npm run plan -- --affected-since <ref>`: the JSON comparison on its own, then end to end in a
 * temporary clone of this repo (its HEAD plus a change in the working tree) with real Terraform:
 * a location file change, a construct default change and a deleted location file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { changedTopLevelKeys, compareSyntheses, normalizeStackJson, refEnvironment, renderAffected, upstreamStacks } from '../../stacks/checks/plan/affected-stacks';
import type { PlanReport } from '../../stacks/checks/plan/plan-report';

const REPO = path.join(__dirname, '../..');

describe('comparing synthesized stacks', () => {
  test('ignores cdktf metadata blocks and key order', () => {
    const before = { '//': { metadata: { version: '0.20' } }, resource: { a: { x: 1, y: 2 } } };
    const after = { resource: { a: { y: 2, x: 1, '//': { path: 'elsewhere' } } } };
    expect(normalizeStackJson(after)).toEqual({ resource: { a: { x: 1, y: 2 } } });
    expect(changedTopLevelKeys(before, after)).toEqual([]);
  });

  test('names the top-level keys that changed', () => {
    expect(changedTopLevelKeys({ resource: { a: 1 }, output: { o: 1 } }, { resource: { a: 2 }, output: { o: 1 }, data: {} })).toEqual(['data', 'resource']);
  });

  test('finds the stacks a stack reads outputs from', () => {
    const json = {
      data: {
        terraform_remote_state: {
          'cross-stack-reference-input-platform-ap-southeast-1': { backend: 'local', config: { path: '../../x.tfstate' } },
          shared: { backend: 's3', config: { key: 'prod/sukhumvit-cafe-data.tfstate' } },
        },
      },
    };
    expect(upstreamStacks(json, ['platform-ap-southeast-1', 'sukhumvit-cafe-data', 'sukhumvit-cafe-app'])).toEqual(['platform-ap-southeast-1', 'sukhumvit-cafe-data']);
  });

  test('a platform change affects the stacks reading its outputs, and theirs, with the reason', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'affected-compare-'));
    const write = (tree: string, stack: string, json: unknown) => {
      fs.mkdirSync(path.join(dir, tree, 'stacks', stack), { recursive: true });
      fs.writeFileSync(path.join(dir, tree, 'stacks', stack, 'cdk.tf.json'), JSON.stringify(json));
    };
    const reads = (stack: string) => ({ data: { terraform_remote_state: { [`cross-stack-reference-input-${stack}`]: { backend: 'local', config: {} } } } });
    try {
      for (const tree of ['ref', 'now']) {
        write(tree, 'platform-eu-west-2', { resource: { vpc: { cidr: tree === 'ref' ? '10.0.0.0/16' : '10.1.0.0/16' } } });
        write(tree, 'london-shoreditch-data', reads('platform-eu-west-2'));
        write(tree, 'london-shoreditch-app', reads('london-shoreditch-data'));
        write(tree, 'addons-eu-west-2', {});
      }
      write('ref', 'old-cafe-data', {});
      const result = compareSyntheses('main', path.join(dir, 'ref'), path.join(dir, 'now'), ['platform-eu-west-2', 'addons-eu-west-2', 'london-shoreditch-data', 'london-shoreditch-app']);
      expect(result).toEqual({
        ref: 'main',
        affected: [
          { stack: 'platform-eu-west-2', changedKeys: ['resource'] },
          { stack: 'london-shoreditch-data', changedKeys: [], through: 'platform-eu-west-2' },
          { stack: 'london-shoreditch-app', changedKeys: [], through: 'london-shoreditch-data' },
        ],
        unaffected: ['addons-eu-west-2'],
        removed: ['old-cafe-data'],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the ref's synth gets our environment with repo paths moved into the worktree and no prebuilt web client", () => {
    const env = { APP_IMAGE_TAG: 'v9.9.9', LOCATIONS_DIR: path.join(REPO, 'locations'), PLATFORM_SETTINGS: '/etc/platform.yaml', WEB_CLIENT_DIR: path.join(REPO, 'app/web/dist') };
    expect(refEnvironment(env, REPO, '/tmp/worktree')).toEqual({ APP_IMAGE_TAG: 'v9.9.9', LOCATIONS_DIR: '/tmp/worktree/locations', PLATFORM_SETTINGS: '/etc/platform.yaml' });
  });

  test('the summary gives reasons, counts the unaffected on one line and lists removed stacks loudly', () => {
    const lines = renderAffected({
      ref: 'main',
      affected: [
        { stack: 'platform-eu-west-2', changedKeys: ['resource'] },
        { stack: 'london-shoreditch-data', changedKeys: [], through: 'platform-eu-west-2' },
      ],
      unaffected: ['a', 'b'],
      removed: ['old-cafe-data'],
    });
    expect(lines).toEqual([
      '### Affected since `main`',
      '',
      '- `platform-eu-west-2`: changed: resource',
      '- `london-shoreditch-data`: affected through platform-eu-west-2',
      '- unaffected (2): `a`, `b`',
      '- **REMOVED (1), to be destroyed**: `old-cafe-data`',
      '',
    ]);
  });
});

describe('npm run plan -- --affected-since HEAD in a clone', () => {
  let work = '';
  let clone = '';
  afterAll(() => work && fs.rmSync(work, { recursive: true, force: true }));

  const sh = (cmd: string, args: string[]) => {
    const run = spawnSync(cmd, args, { cwd: clone, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${run.stderr}`);
  };
  const plan = (name: string, ...extra: string[]) => {
    const out = path.join(work, name);
    const run = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/checks/plan/plan-main.ts', '--out', out, '--affected-since', 'HEAD', ...extra], {
      cwd: clone,
      encoding: 'utf8',
      env: { ...process.env, CHECKPOINT_DISABLE: '1', LOCATIONS_DIR: undefined, PLATFORM_SETTINGS: undefined },
    });
    const summary = path.join(out, 'plan-summary.json');
    const report = fs.existsSync(summary) ? (JSON.parse(fs.readFileSync(summary, 'utf8')) as PlanReport) : undefined;
    return { run, report, checked: report ? [...report.coverage.planned, ...report.coverage.structureChecked].sort() : [] };
  };
  const edit = (file: string, from: string | RegExp, to: string) => {
    const full = path.join(clone, file);
    const text = fs.readFileSync(full, 'utf8');
    expect(text).toMatch(from);
    fs.writeFileSync(full, text.replace(from, to));
  };

  beforeAll(() => {
    // The committed tree plus uncommitted changes of the working copy: what a developer would plan.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'affected-since-'));
    clone = path.join(work, 'repo');
    spawnSync('git', ['clone', '--quiet', REPO, clone], { encoding: 'utf8' });
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
    // This repo's stacks/ as it is now (the code under test may not be committed yet) becomes the clone's HEAD.
    fs.cpSync(path.join(REPO, 'stacks'), path.join(clone, 'stacks'), { recursive: true });
    sh('git', ['add', '-A', 'stacks']);
    sh('git', ['-c', 'user.name=plan-test', '-c', 'user.email=plan-test@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'stacks as under test']);
  }, 60_000);
  afterEach(() => sh('git', ['checkout', '--', '.']));

  test('a changed location file plans exactly that location\'s changed stacks and those reading them', () => {
    edit('locations/sukhumvit-cafe.yaml', 'ops-sukhumvit@', 'ops-sukhumvit-night@');
    const { run, report, checked } = plan('location');
    expect({ status: run.status, failures: report?.failures }).toEqual({ status: 0, failures: [] });
    expect(checked).toEqual(['sukhumvit-cafe-app', 'sukhumvit-cafe-data']);
    expect(report!.coverage.planned).toEqual(['sukhumvit-cafe-data']);
    expect(report!.affected!.affected).toEqual([
      { stack: 'sukhumvit-cafe-data', changedKeys: ['resource'] },
      { stack: 'sukhumvit-cafe-app', changedKeys: [], through: 'sukhumvit-cafe-data' },
    ]);
    expect(report!.affected!.unaffected).toHaveLength(8);
    expect(report!.affected!.removed).toEqual([]);
    expect(fs.readFileSync(path.join(work, 'location', 'plan-summary.md'), 'utf8')).toContain('- `sukhumvit-cafe-app`: affected through sukhumvit-cafe-data');
  }, 300_000);

  test('a changed construct default plans every stack whose JSON it changed', () => {
    edit('stacks/infra/constructs/database-bootstrap-job.ts', 'props.deadlineSeconds ?? 300', 'props.deadlineSeconds ?? 420');
    const { run, report, checked } = plan('construct');
    expect({ status: run.status, failures: report?.failures }).toEqual({ status: 0, failures: [] });
    expect(checked).toEqual(['kanchanaburi-resort-app', 'london-shoreditch-app', 'sukhumvit-cafe-app']);
    expect(report!.affected!.affected.every((a) => a.changedKeys.includes('resource'))).toBe(true);
  }, 300_000);

  test("a changed web client plans every location's data stack (its objects) and the stacks reading them, built in both trees", () => {
    // The clone and the ref's worktree each build their own client (stacks/synth-options.ts).
    edit('app/web/index.html', '</body>', '<p hidden>affected-since</p></body>');
    const { run, report, checked } = plan('web-client');
    expect({ status: run.status, failures: report?.failures }).toEqual({ status: 0, failures: [] });
    expect([...report!.coverage.planned].sort()).toEqual(['kanchanaburi-resort-data', 'london-shoreditch-data', 'sukhumvit-cafe-data']);
    expect(report!.affected!.affected.filter((a) => a.stack.endsWith('-data')).map((a) => a.changedKeys)).toEqual([['resource'], ['resource'], ['resource']]);
    expect(checked.filter((s) => !s.endsWith('-data') && !s.endsWith('-app'))).toEqual([]);
    const data = JSON.parse(fs.readFileSync(path.join(work, 'web-client', 'stacks', 'sukhumvit-cafe-data', 'plan.json'), 'utf8'));
    expect(data.resource_changes.some((rc: { change: { after?: { key?: string } } }) => rc.change.after?.key === 'web/index.html')).toBe(true);
  }, 300_000);

  test('fails when a location file was deleted, naming its stacks as removed, unless --allow-removal', () => {
    fs.rmSync(path.join(clone, 'locations/london-shoreditch.json'));
    const refused = plan('removed');
    const removed = ['addons-eu-west-2', 'london-shoreditch-app', 'london-shoreditch-data', 'platform-eu-west-2'];
    expect(refused.run.status).toBe(1);
    expect(refused.report!.affected!.removed).toEqual(removed);
    expect(refused.run.stderr).toContain(`stacks removed since HEAD would be destroyed: ${removed.join(', ')} (pass --allow-removal if that is intended)`);
    expect(fs.readFileSync(path.join(work, 'removed', 'plan-summary.md'), 'utf8')).toContain('**REMOVED (4), to be destroyed**');

    const allowed = plan('removed-allowed', '--allow-removal');
    expect({ status: allowed.run.status, failures: allowed.report?.failures }).toEqual({ status: 0, failures: [] });
    expect(allowed.report!.affected!.removed).toEqual(removed);
  }, 300_000);
});

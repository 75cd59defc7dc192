/**
 * `npm run plan` end to end with the real Terraform over the sample locations (AWS stacks fully
 * planned, kubernetes and helm stacks structure-checked), and a broken stack that must fail
 * naming the stack and the error. Needs Terraform >= 1.11 and the aws provider in a filesystem
 * mirror (or a reachable registry); without Terraform the tests fail with the install hint.
 * tests/plan/structure-check.test.ts covers the structure check itself.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PlanReport } from '../../stacks/checks/plan/plan-report';
import { policyInputFromPlan } from '../../stacks/checks/policy/policy-resources';
import { ALL_RULES } from '../../stacks/checks/policy/rules';
import { runPlans } from '../../stacks/checks/plan/plan-runner';
import { findMirroredProviders, mirrorDirsFromEnvironment } from '../../stacks/checks/plan/provider-installation';
import { findTerraform, TerraformMissingError } from '../../stacks/checks/plan/terraform-cli';
import { loadSynthInputs } from '../../stacks/synth-options';
import { stackJsonPath, synthesize } from '../../stacks/synthesize';
import { SAMPLE_LOCATIONS_DIR } from '../../tools/synth/synth-platform';

const REPO = path.join(__dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-check-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('Terraform', () => {
  test('is installed (the plan check needs it)', () => {
    expect(() => findTerraform(process.env)).not.toThrow();
  });

  test('missing Terraform is an error that says how to install it', () => {
    expect(() => findTerraform({ ...process.env, TERRAFORM_BIN: '/nonexistent/terraform' })).toThrow(TerraformMissingError);
    expect(() => findTerraform({ ...process.env, TERRAFORM_BIN: '/nonexistent/terraform' })).toThrow(
      /^terraform not found \(tried "\/nonexistent\/terraform"\): install Terraform >= 1\.11\.0 /,
    );
  });
});

describe('npm run plan over the sample locations', () => {
  let run: ReturnType<typeof spawnSync>;
  let report: PlanReport;
  const out = path.join(work, 'all');

  beforeAll(() => {
    // One terraform at a time here: jest runs other test files beside this one, some of which
    // measure latencies (cache invalidation within 100 ms) that a saturated machine would distort.
    run = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/checks/plan/plan-main.ts', '--out', out, '--concurrency', '1'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
    });
    if (fs.existsSync(path.join(out, 'plan-summary.json'))) report = JSON.parse(fs.readFileSync(path.join(out, 'plan-summary.json'), 'utf8'));
  }, 600_000);

  test('passes: every AWS stack validates and plans, every other stack passes the structure check, every policy rule holds', () => {
    // On failure, show the tail of stderr: it names the stack and the step or rule that failed.
    const stderr = run.status === 0 ? '' : String(run.stderr).slice(-3000);
    expect({ status: run.status, failures: report?.failures, stderr }).toEqual({ status: 0, failures: [], stderr: '' });
  });

  test('plans the platform of each region and the data stack of each location, creating resources only', () => {
    const planned = report.stacks.filter((s) => s.plan.status === 'planned').map((s) => s.plan.stack.stack).sort();
    expect(planned).toEqual(['kanchanaburi-resort-data', 'london-shoreditch-data', 'platform-ap-southeast-1', 'platform-eu-west-2', 'sukhumvit-cafe-data']);
    for (const s of report.stacks.filter((x) => x.plan.status === 'planned')) {
      expect(s.plan.changes!.add).toBeGreaterThan(50);
      expect(s.plan.changes!.change + s.plan.changes!.destroy).toBe(0);
    }
  });

  test('structure-checks the kubernetes and helm stacks, says plainly they were not planned, and checks their policy', () => {
    const structureChecked = report.stacks.filter((s) => s.plan.status === 'structure-checked');
    expect(structureChecked.map((s) => s.plan.stack.kind).sort()).toEqual(['addons', 'addons', 'app', 'app', 'app']);
    for (const s of structureChecked) {
      expect(s.plan.reason).toMatch(/is not in a filesystem mirror/);
      expect(s.plan.stepMs.validate).toBeGreaterThan(0);
      expect(s.plan.standIns).toBeGreaterThan(5);
      expect(s.policy.length).toBeGreaterThan(5);
    }
    expect(run.stdout).toContain('was **structure-checked, not planned**: provider registry.terraform.io/hashicorp/kubernetes');
    expect([...report.coverage.structureChecked].sort()).toEqual(structureChecked.map((s) => s.plan.stack.stack).sort());
    expect([...report.coverage.planned].sort()).toEqual(['kanchanaburi-resort-data', 'london-shoreditch-data', 'platform-ap-southeast-1', 'platform-eu-west-2', 'sukhumvit-cafe-data']);
  });

  test('writes a Markdown summary with a section per location, rule counts and a labelled cost estimate', () => {
    const markdown = fs.readFileSync(path.join(out, 'plan-summary.md'), 'utf8');
    expect(markdown.startsWith('## Plan check: passed\n')).toBe(true);
    for (const id of ['kanchanaburi-resort', 'london-shoreditch', 'sukhumvit-cafe']) {
      expect(markdown).toMatch(new RegExp(`^### ${id} \\([a-z0-9-]+\\): estimated \\$[0-9,]+\\.\\d\\d/month$`, 'm'));
    }
    expect(markdown).toMatch(/\| `sukhumvit-cafe-data` \| planned: \+\d+ ~0 -0 \| [\d.]+s \/ [\d.]+s \| \d+ passed \| \$[\d,]+\.\d\d \|/);
    expect(markdown).toMatch(/\| `sukhumvit-cafe-app` \| structure-checked \(\d+ stand-ins\) \| [\d.]+s \/ - \| \d+ passed \| \$[\d,]+\.\d\d \|/);
    expect(markdown).toContain('Fully planned: `platform-ap-southeast-1`, ');
    expect(markdown).toMatch(/Structure-checked: `addons-ap-southeast-1`, .*`sukhumvit-cafe-app`/);
    expect(markdown).toContain('Costs are **estimates**');
  });

  test("names per data stack when deferrable database and cache changes take effect, from the plan's own windows", () => {
    const markdown = fs.readFileSync(path.join(out, 'plan-summary.md'), 'utf8');
    // Creations only: nothing restarts; the windows are maintenanceWindowsFor(region) as planned.
    expect(markdown).toContain(
      '- `kanchanaburi-resort-data` database and cache: deferrable changes take effect for the database (5 instances) in the maintenance window sun:20:00-sun:21:00 UTC; ' +
        'for Redis in the maintenance window mon:20:00-mon:21:00 UTC (`applyChanges` in the location file). No planned change restarts, fails over or waits on a node.',
    );
    expect(markdown).toContain('- `london-shoreditch-data` database and cache: deferrable changes take effect for the database (');
    const data = report.stacks.find((s) => s.plan.stack.stack === 'kanchanaburi-resort-data')!;
    expect(data.services!.nodes.map((n) => [n.service, n.applyImmediately])).toEqual([...Array(5).fill(['database', false]), ['cache', false]]);
    expect(report.stacks.find((s) => s.plan.stack.stack === 'platform-ap-southeast-1')!.services).toEqual({ nodes: [], changes: [] });
  });

  test('RDS-015 passes on the real plan of every data stack, and fails on the same plan once a replica stops autoscaling', () => {
    for (const s of report.stacks.filter((x) => x.plan.stack.kind === 'data')) {
      expect([s.plan.stack.stack, s.policy.find((r) => r.rule.id === 'RDS-015')?.outcome]).toEqual([s.plan.stack.stack, 'pass']);
    }
    const plan = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'kanchanaburi-resort-data', 'plan.json'), 'utf8'));
    const [replica] = plan.resource_changes.filter((rc: { type: string; change: { after: Record<string, unknown> } }) => rc.type === 'aws_db_instance' && rc.change.after.backup_retention_period === 0);
    // As the plan reads when the configuration leaves it unset: null after, nothing written.
    replica.change.after.max_allocated_storage = null;
    const written = plan.configuration.root_module.resources.find((r: { address: string }) => r.address === replica.address);
    delete written.expressions.max_allocated_storage;
    const rule = ALL_RULES.find((r) => r.id === 'RDS-015')!;
    expect(rule.evaluate(policyInputFromPlan('kanchanaburi-resort-data', 'data', plan)).map((v) => v.address)).toEqual([replica.address]);
  });

  test("plans each data stack's web client objects from the copied build: index.html revalidated, assets immutable, config.json per location", () => {
    for (const id of ['kanchanaburi-resort', 'london-shoreditch', 'sukhumvit-cafe']) {
      const plan = JSON.parse(fs.readFileSync(path.join(out, 'stacks', `${id}-data`, 'plan.json'), 'utf8'));
      const objects = new Map<string, Record<string, unknown>>(
        plan.resource_changes.filter((rc: { type: string }) => rc.type === 'aws_s3_object').map((rc: { change: { after: Record<string, unknown> } }) => [rc.change.after.key, rc.change.after]),
      );
      expect(objects.get('web/index.html')).toMatchObject({ content_type: 'text/html; charset=utf-8', cache_control: 'no-cache', source_hash: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(JSON.parse(String(objects.get('web/config.json')!.content)).apiBaseUrl).toMatch(/^https:\/\/api\.[a-z.-]+$/);
      const assets = [...objects.keys()].filter((key) => key.startsWith('web/assets/'));
      expect(assets.length).toBeGreaterThan(0);
      for (const key of assets) expect(objects.get(key)).toMatchObject({ cache_control: 'public, max-age=31536000, immutable', source_hash: expect.stringMatching(/^[0-9a-f]{32}$/) });
    }
  });

  test('reads upstream outputs from fixture state files it lists', () => {
    const data = report.stacks.find((s) => s.plan.stack.stack === 'sukhumvit-cafe-data')!;
    expect(data.plan.fixtures.map((f) => path.basename(f))).toEqual(['platform-ap-southeast-1.tfstate']);
  });

  test('keeps the synthesized stacks as deployed: S3 backend, no plan-check settings', () => {
    const synthesized = fs.readFileSync(stackJsonPath(path.join(out, 'cdktf.out'), 'sukhumvit-cafe-data'), 'utf8');
    expect(JSON.parse(synthesized).terraform.backend.s3).toBeDefined();
    expect(synthesized).not.toContain('plan-check');
  });
});

describe('a broken stack', () => {
  test('fails at validate, naming the stack and the error', async () => {
    const outdir = path.join(work, 'broken', 'cdktf.out');
    const { locations, ...options } = loadSynthInputs({ ...process.env, LOCATIONS_DIR: SAMPLE_LOCATIONS_DIR });
    const synthesis = synthesize(locations, options, outdir);
    const file = stackJsonPath(outdir, 'sukhumvit-cafe-data');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const [name] = Object.keys(json.resource.aws_db_instance);
    json.resource.aws_db_instance[name].storage_encryptedd = true;
    fs.writeFileSync(file, JSON.stringify(json, null, 2));

    const [result] = await runPlans({
      synthOutdir: outdir,
      workDir: path.join(work, 'broken'),
      stacks: synthesis.stacks.filter((s) => s.stack === 'sukhumvit-cafe-data'),
      terraformBin: findTerraform(process.env).bin,
      mirrored: findMirroredProviders(mirrorDirsFromEnvironment(process.env)),
      providersFromRegistry: false,
    });
    expect(result!.stack.stack).toBe('sukhumvit-cafe-data');
    expect(result!.status).toBe('failed');
    expect(result!.error!.step).toBe('validate');
    expect(result!.error!.message).toBe(
      `aws_db_instance.${name}: Extraneous JSON object property: No argument or block type is named "storage_encryptedd".`,
    );
  }, 300_000);
});

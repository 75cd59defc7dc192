/**
 * The restart and failover summary on real Terraform plans of a changed location. No location is
 * deployed here, so the "deployed" stack is a stand-in state made from its creation plan
 * (`support/deployed-state.ts`); the changed location is then synthesized from its edited file and
 * planned against that state with `-refresh=false`, the aws provider from the mirror and no AWS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { serviceChanges } from '../../stacks/checks/plan/disruptive-changes';
import { runPlans } from '../../stacks/checks/plan/plan-runner';
import { cliConfig, findMirroredProviders, mirrorDirsFromEnvironment } from '../../stacks/checks/plan/provider-installation';
import { findTerraform } from '../../stacks/checks/plan/terraform-cli';
import { loadSynthInputs } from '../../stacks/synth-options';
import { stackJsonPath, synthesize } from '../../stacks/synthesize';
import { SAMPLE_LOCATIONS_DIR } from '../../tools/synth/synth-platform';
import { changedResources, planAgainstState, type TerraformDir, writeDeployedState } from './support/deployed-state';

const STACK = 'kanchanaburi-resort-data';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'restart-plan-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The sample locations with kanchanaburi-resort's file edited, synthesized; returns the data stack's JSON. */
function synthesizeWith(name: string, edit: (text: string) => string): string {
  const dir = path.join(work, name, 'locations');
  fs.mkdirSync(dir, { recursive: true });
  for (const file of fs.readdirSync(SAMPLE_LOCATIONS_DIR)) {
    const text = fs.readFileSync(path.join(SAMPLE_LOCATIONS_DIR, file), 'utf8');
    fs.writeFileSync(path.join(dir, file), file === 'kanchanaburi-resort.yaml' ? edit(text) : text);
  }
  const { locations, ...options } = loadSynthInputs({ ...process.env, LOCATIONS_DIR: dir });
  const outdir = path.join(work, name, 'cdktf.out');
  synthesize(locations, options, outdir);
  return fs.readFileSync(stackJsonPath(outdir, STACK), 'utf8');
}

describe(`a deployed ${STACK} whose file changes`, () => {
  let t: TerraformDir;
  let rounds = 0;

  beforeAll(async () => {
    const terraform = findTerraform(process.env);
    const mirrored = findMirroredProviders(mirrorDirsFromEnvironment(process.env));
    const { locations, ...options } = loadSynthInputs({ ...process.env, LOCATIONS_DIR: SAMPLE_LOCATIONS_DIR });
    const synthOutdir = path.join(work, 'deployed', 'cdktf.out');
    const synthesis = synthesize(locations, options, synthOutdir);
    const [creation] = await runPlans({
      synthOutdir,
      workDir: path.join(work, 'deployed'),
      stacks: synthesis.stacks.filter((s) => s.stack === STACK),
      terraformBin: terraform.bin,
      mirrored,
      providersFromRegistry: false,
      concurrency: 1,
    });
    if (creation!.status !== 'planned') throw new Error(`creation plan failed: ${JSON.stringify(creation!.error)}`);
    const cliConfigPath = path.join(work, 'terraform.rc');
    fs.writeFileSync(cliConfigPath, cliConfig(mirrored));
    t = {
      dir: path.join(work, 'deployed', 'stacks', STACK),
      terraformBin: terraform.bin,
      env: { ...process.env, TF_CLI_CONFIG_FILE: cliConfigPath, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' },
    };
    rounds = await writeDeployedState(t, JSON.parse(fs.readFileSync(creation!.planJsonPath!, 'utf8')));
  }, 600_000);

  const planWith = async (config: string) => {
    fs.writeFileSync(path.join(t.dir, 'cdk.tf.json'), config);
    return planAgainstState(t);
  };

  test('unchanged, nothing restarts: the stand-in state settled and the plan changes no node', async () => {
    expect(rounds).toBeLessThanOrEqual(6);
    const plan = await planWith(synthesizeWith('unchanged', (text) => text));
    expect(changedResources(plan)).toEqual([]);
    const report = serviceChanges(plan);
    expect(report.changes).toEqual([]);
    expect(report.nodes.map((n) => [n.service, n.maintenanceWindow])).toEqual([
      ...Array(5).fill(['database', 'sun:20:00-sun:21:00']),
      ['cache', 'mon:20:00-mon:21:00'],
    ]);
  }, 120_000);

  test('a new instance class: the Multi-AZ primary fails over and the replicas restart, in the Sunday window', async () => {
    const plan = await planWith(synthesizeWith('resized', (text) => text.replace('  database:\n    readReplicas: 4', '  database:\n    readReplicas: 4\n    instanceClass: db.r6g.2xlarge')));
    const changes = serviceChanges(plan).changes;
    expect(changes.map((c) => [c.name, c.attribute, c.before, c.after, c.disruption, c.when])).toEqual([
      ['kanchanaburi-resort-postgres', 'instance_class', 'db.r6g.xlarge', 'db.r6g.2xlarge', 'failover', 'in the next maintenance window sun:20:00-sun:21:00 UTC'],
      ...[1, 2, 3, 4].map((i) => [
        `kanchanaburi-resort-postgres-replica-${i}`, 'instance_class', 'db.r6g.xlarge', 'db.r6g.2xlarge', 'restart', 'in the next maintenance window sun:20:00-sun:21:00 UTC',
      ]),
    ]);
  }, 120_000);

  test('the same with applyChanges.database = immediately: during the apply', async () => {
    const plan = await planWith(
      synthesizeWith('resized-now', (text) => `${text.replace('  database:\n    readReplicas: 4', '  database:\n    readReplicas: 4\n    instanceClass: db.r6g.2xlarge')}applyChanges: {database: immediately}\n`),
    );
    const changes = serviceChanges(plan).changes.filter((c) => c.attribute === 'instance_class');
    expect(changes).toHaveLength(5);
    for (const change of changes) expect(change.when).toBe('during the apply (apply_immediately)');
  }, 120_000);

  test('a new Redis node type and one replica fewer: a brief interruption in the Monday window, the removal at once', async () => {
    const plan = await planWith(
      synthesizeWith('redis', (text) => text.replace('overrides:\n', 'overrides:\n  redis:\n    nodeType: cache.r6g.xlarge\n    nodeCount: 2\n')),
    );
    expect(serviceChanges(plan).changes.map((c) => [c.attribute, c.before, c.after, c.disruption, c.when])).toEqual([
      ['node_type', 'cache.r6g.large', 'cache.r6g.xlarge', 'brief interruption', 'in the next maintenance window mon:20:00-mon:21:00 UTC'],
      ['num_cache_clusters', 3, 2, 'removal', 'during the apply (AWS does not defer it)'],
    ]);
  }, 120_000);
});

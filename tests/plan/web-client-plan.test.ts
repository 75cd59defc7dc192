/**
 * The web client's objects on real Terraform plans (the aws provider from the mirror, no AWS): a
 * location's CDN bucket with a published fixture build, planned by the plan runner (which must
 * find the copied files: `source_hash` is `filemd5` of them), then "deployed" as a stand-in state
 * (support/deployed-state.ts) and planned again with the same build from another folder (no
 * change) and with a changed build (exactly the changed objects). The data stack's own plan is
 * in plan-check.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { runPlans, STACK_ASSETS_DIR } from '../../stacks/checks/plan/plan-runner';
import { cliConfig, findMirroredProviders, mirrorDirsFromEnvironment } from '../../stacks/checks/plan/provider-installation';
import { findTerraform } from '../../stacks/checks/plan/terraform-cli';
import { App, TerraformStack } from '../../stacks/infra/cdktf';
import { loadWebClientBuild, type WebClientBuild } from '../../stacks/infra/config/web-client-build';
import { CdnBucket } from '../../stacks/infra/constructs/cdn-bucket';
import { WebClientObjects } from '../../stacks/infra/constructs/web-client-objects';
import { stackTags } from '../../stacks/infra/tags';
import type { StackSummary } from '../../stacks/synthesize';
import { ACCOUNT_ID } from '../support/stacks/data-fixtures';
import { sampleLocation } from '../support/stacks/sample-locations';
import { FIXTURE_WEB_FILES, webClientFixture, webClientFixtureDir, writeWebClientFiles } from '../support/stacks/web-client-fixture';
import { changedResources, planAgainstState, type TerraformDir, writeDeployedState } from './support/deployed-state';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const location = sampleLocation('sukhumvit-cafe');
const STACK = `${location.id}-data`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'web-client-plan-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The location's CDN bucket and web client in a stack of their own, synthesized with assets into `<work>/<name>/cdktf.out`. */
function synthesizeWith(name: string, build: WebClientBuild): { outdir: string; summary: StackSummary } {
  const outdir = path.join(work, name, 'cdktf.out');
  fs.mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir });
  const stack = new TerraformStack(app, STACK);
  const defaultTags = [{ tags: stackTags(STACK, location) }];
  new AwsProvider(stack, 'aws', { region: location.region, defaultTags });
  const usEast1 = new AwsProvider(stack, 'aws-us-east-1', { alias: 'us_east_1', region: 'us-east-1', defaultTags });
  const cdn = new CdnBucket(stack, 'cdn', { location, accountId: ACCOUNT_ID, usEast1Provider: usEast1 });
  new WebClientObjects(stack, 'web-client', { location, cdn, build });
  app.synth();
  return { outdir, summary: { stack: STACK, kind: 'data', region: location.region, location: location.id, resources: 0, dataSources: 0, outputs: 0 } };
}

const objectChanges = (plan: Json) =>
  (plan.resource_changes as Json[]).filter((rc) => rc.type === 'aws_s3_object').map((rc) => ({ ...rc, shortAddress: rc.address.replace(/^aws_s3_object\.web-client_/, '') }));

describe(`the web client in ${STACK}`, () => {
  let t: TerraformDir;
  let creation: Json;

  /** Plans a synthesized stack against the deployed stand-in state, its copied files linked in. */
  const planWith = async (synthesized: { outdir: string }) => {
    const stackDir = path.join(synthesized.outdir, 'stacks', STACK);
    fs.copyFileSync(path.join(stackDir, 'cdk.tf.json'), path.join(t.dir, 'cdk.tf.json'));
    fs.rmSync(path.join(t.dir, STACK_ASSETS_DIR));
    fs.symlinkSync(path.join(stackDir, STACK_ASSETS_DIR), path.join(t.dir, STACK_ASSETS_DIR), 'dir');
    return planAgainstState(t);
  };

  beforeAll(async () => {
    const terraform = findTerraform(process.env);
    const mirrored = findMirroredProviders(mirrorDirsFromEnvironment(process.env));
    const deployed = synthesizeWith('deployed', webClientFixture());
    const [planned] = await runPlans({
      synthOutdir: deployed.outdir,
      workDir: path.join(work, 'deployed'),
      stacks: [deployed.summary],
      terraformBin: terraform.bin,
      mirrored,
      providersFromRegistry: false,
      concurrency: 1,
    });
    if (planned!.status !== 'planned') throw new Error(`creation plan failed: ${JSON.stringify(planned!.error)}`);
    creation = JSON.parse(fs.readFileSync(planned!.planJsonPath!, 'utf8'));
    const cliConfigPath = path.join(work, 'terraform.rc');
    fs.writeFileSync(cliConfigPath, cliConfig(mirrored));
    t = {
      dir: path.join(work, 'deployed', 'stacks', STACK),
      terraformBin: terraform.bin,
      env: { ...process.env, TF_CLI_CONFIG_FILE: cliConfigPath, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' },
    };
    await writeDeployedState(t, creation);
  }, 600_000);

  test('the plan runner plans every object from the copied files: key, headers, the MD5 Terraform read, the default tags', () => {
    const build = webClientFixture();
    const created = objectChanges(creation);
    expect(created.every((rc) => rc.change.actions.join() === 'create')).toBe(true);
    expect(created.map((rc) => rc.change.after.key).sort()).toEqual([...build.files.map((f) => `web/${f.path}`), 'web/config.json'].sort());
    for (const file of build.files) {
      const rc = created.find((c) => c.change.after.key === `web/${file.path}`)!;
      expect(rc.change.after).toMatchObject({ content_type: file.contentType, cache_control: file.cacheControl, source_hash: file.md5 });
      expect(rc.change.after.tags_all).toEqual(stackTags(STACK, location));
    }
    const config = created.find((c) => c.change.after.key === 'web/config.json')!;
    expect(JSON.parse(config.change.after.content)).toEqual({ apiBaseUrl: `https://${location.domains.api}`, websocketUrl: `wss://${location.domains.api}/ws` });
    const router = (creation.resource_changes as Json[]).find((rc) => rc.type === 'aws_cloudfront_function')!;
    expect(router.change.after).toMatchObject({ runtime: 'cloudfront-js-2.0', publish: true });
  });

  test('the same build, synthesized from another folder, plans no change', async () => {
    const plan = await planWith(synthesizeWith('unchanged', loadWebClientBuild(webClientFixtureDir())));
    expect(changedResources(plan)).toEqual([]);
  }, 120_000);

  test('a changed build plans exactly the changed objects: updated in place, the new chunk created, the old one deleted', async () => {
    const next = writeWebClientFiles(webClientFixtureDir(), {
      'index.html': FIXTURE_WEB_FILES['index.html']!.replace('index-Fx7aB2cD.js', 'index-Nw4eRt56.js'),
      'assets/index-Nw4eRt56.js': 'import("./GuestPage-Qw3rTy12.js"); // v2\n',
      'sw.js': 'self.addEventListener("install", () => self.skipWaiting()); // v2\n',
    });
    fs.rmSync(path.join(next, 'assets/index-Fx7aB2cD.js'));
    const plan = await planWith(synthesizeWith('changed', loadWebClientBuild(next)));

    const changes = objectChanges(plan)
      .filter((rc) => rc.change.actions.join() !== 'no-op')
      .map((rc) => [rc.shortAddress, rc.change.actions.join()])
      .sort();
    expect(changes).toEqual([
      ['immutable-files_0D2AEDF4["assets/index-Fx7aB2cD.js"]', 'delete'],
      ['immutable-files_0D2AEDF4["assets/index-Nw4eRt56.js"]', 'create'],
      ['revalidated-files_80113E12["index.html"]', 'update'],
      ['revalidated-files_80113E12["sw.js"]', 'update'],
    ]);
    expect(changedResources(plan).filter((address) => !address.startsWith('aws_s3_object.')).sort()).toEqual([]);
    const index = objectChanges(plan).find((rc) => rc.change.after?.key === 'web/index.html')!;
    expect(index.change.after.source_hash).toBe(loadWebClientBuild(next).files.find((f) => f.path === 'index.html')!.md5);
    expect(index.change.before.source_hash).not.toBe(index.change.after.source_hash);
  }, 120_000);

  test('fails to plan when the copied files are not beside the JSON: the plan reads every file it will upload', async () => {
    fs.rmSync(path.join(t.dir, STACK_ASSETS_DIR));
    await expect(planAgainstState(t)).rejects.toThrow(/Call to function "filemd5" failed: open\s+assets\/web-client_file-\S+:\s+no such file or directory/);
  }, 120_000);
});

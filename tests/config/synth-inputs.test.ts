/**
 * What every entry point synthesizes from (`loadSynthInputs`): the state backend from
 * platform.yaml (never from TF_STATE_* variables), the locations and settings validated together.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { applyBackend, backendChoiceFromEnvironment, resolveBackend } from '../../stacks/infra/backend';
import { TerraformStack, Testing } from '../../stacks/infra/cdktf';
import { LocationConfigError } from '../../stacks/infra/config/location-config-error';
import { PlatformSettingsError } from '../../stacks/infra/config/platform-settings-error';
import { WebClientBuildError } from '../../stacks/infra/config/web-client-build';
import { SettingsError } from '../../stacks/settings-error';
import { buildWebClient, loadSynthInputs } from '../../stacks/synth-options';
import { platformSettingsYaml } from '../../tools/synth/platform-settings';
import { FIXTURE_WEB_FILES, webClientFixtureDir } from '../support/stacks/web-client-fixture';

const REPO = path.join(__dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-inputs-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function settingsFile(name: string, text: string): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, text);
  return file;
}

function backendBlockOf(config: Parameters<typeof applyBackend>[2]): Record<string, unknown> {
  const stack = new TerraformStack(Testing.app(), 'platform-ap-southeast-1');
  new AwsProvider(stack, 'aws', { region: 'ap-southeast-1' });
  applyBackend(stack, 'platform-ap-southeast-1', config);
  return (JSON.parse(Testing.synth(stack)) as { terraform: { backend: Record<string, unknown> } }).terraform.backend;
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('the state backend', () => {
  test('is the S3 bucket, region and key prefix of the committed platform.yaml by default', () => {
    const inputs = loadSynthInputs({});
    expect(inputs.platformSettingsFile).toBe(path.join(REPO, 'platform.yaml'));
    expect(inputs.backend).toEqual({ kind: 's3', bucket: 'banrimkwae-platform-tfstate', region: 'ap-southeast-1', keyPrefix: 'restaurant-platform' });
    expect(backendBlockOf(inputs.backend)).toEqual({
      s3: {
        bucket: 'banrimkwae-platform-tfstate',
        region: 'ap-southeast-1',
        key: 'restaurant-platform/platform-ap-southeast-1/terraform.tfstate',
        encrypt: true,
        use_lockfile: true,
      },
    });
  });

  test('follows the file PLATFORM_SETTINGS names: its bucket, region and key prefix', () => {
    const text = platformSettingsYaml(['ap-southeast-1', 'eu-west-2']).replace(
      /^stateBackend: .*$/m,
      'stateBackend: { bucket: banrimkwae-staging-tfstate, region: eu-west-2, keyPrefix: staging/restaurant-platform }',
    );
    const inputs = loadSynthInputs({ PLATFORM_SETTINGS: settingsFile('staging.yaml', text) });
    expect(backendBlockOf(inputs.backend)).toMatchObject({
      s3: { bucket: 'banrimkwae-staging-tfstate', region: 'eu-west-2', key: 'staging/restaurant-platform/platform-ap-southeast-1/terraform.tfstate' },
    });
  });

  test('is a local file per stack with TF_BACKEND=local, the settings still checked', () => {
    expect(loadSynthInputs({ TF_BACKEND: 'local' }).backend).toEqual({ kind: 'local', dir: '../../../.tfstate' });
    expect(resolveBackend(backendChoiceFromEnvironment({ TF_BACKEND: 'local', TF_STATE_DIR: '/tmp/state' }), loadSynthInputs({}).settings.stateBackend)).toEqual({
      kind: 'local',
      dir: '/tmp/state',
    });
    expect(() => loadSynthInputs({ TF_BACKEND: 'local', PLATFORM_SETTINGS: path.join(work, 'missing.yaml') })).toThrow(PlatformSettingsError);
  });

  test.each([
    ['TF_STATE_BUCKET', {}],
    ['TF_STATE_REGION', {}],
    ['TF_STATE_BUCKET', { TF_BACKEND: 'local' }],
  ])('fails when %s is left in the environment (%j), saying to edit platform.yaml', (name, extra) => {
    const error = thrownBy(() => loadSynthInputs({ ...extra, [name]: 'old-value' }));
    expect(error).toBeInstanceOf(SettingsError);
    expect(error.message).toBe(
      `${name} must not be set: the state bucket, region and key prefix come from stateBackend in platform.yaml (edit them there and unset ${name}), got "old-value"`,
    );
  });

  test('fails when TF_BACKEND is neither s3 nor local', () => {
    expect(() => loadSynthInputs({ TF_BACKEND: 'gcs' })).toThrow(new SettingsError('TF_BACKEND must be s3 or local, got "gcs"'));
  });
});

describe('locations and settings, validated together', () => {
  test('fails when a location\'s region has no section, naming the location file', () => {
    const locations = path.join(work, 'locations');
    fs.mkdirSync(locations);
    fs.writeFileSync(
      path.join(locations, 'times-square.yaml'),
      fs.readFileSync(path.join(REPO, 'locations/sukhumvit-cafe.yaml'), 'utf8')
        .replace('id: sukhumvit-cafe', 'id: times-square')
        .replace('region: ap-southeast-1', 'region: us-east-1')
        .replace('[ap-southeast-1a, ap-southeast-1b]', '[us-east-1a, us-east-1b]'),
    );
    const error = thrownBy(() => loadSynthInputs({ LOCATIONS_DIR: locations }));
    expect(error).toBeInstanceOf(PlatformSettingsError);
    expect((error as PlatformSettingsError).problems.map((p) => [p.field, p.message.split(';')[0]])).toEqual([
      ['regions.us-east-1', `is required: ${path.relative(process.cwd(), path.join(locations, 'times-square.yaml'))} is in us-east-1`],
    ]);
  });

  test('fails on a bad location file before reading the settings', () => {
    expect(() => loadSynthInputs({ LOCATIONS_DIR: path.join(work, 'no-locations'), PLATFORM_SETTINGS: path.join(work, 'missing.yaml') })).toThrow(LocationConfigError);
  });
});

describe('the web client', () => {
  test("is the checkout's own build by default, built (or found up to date) by running app/web/build.ts", () => {
    const { webClient } = loadSynthInputs({});
    expect(webClient.dir).toBe(path.join(REPO, 'app/web/dist'));
    expect(webClient.files.map((f) => f.path)).toContain('index.html');
    expect(fs.readdirSync(path.join(REPO, 'app/web/dist'))).toContain('.source-hash');
  });

  test('is the folder WEB_CLIENT_DIR names, as it is', () => {
    const dir = webClientFixtureDir();
    const { webClient } = loadSynthInputs({ WEB_CLIENT_DIR: dir });
    expect(webClient.dir).toBe(dir);
    expect(webClient.files.map((f) => f.path)).toContain('manifest.webmanifest');
    expect(webClient.files).toHaveLength(Object.keys(FIXTURE_WEB_FILES).length - 2);
  });

  test('fails when WEB_CLIENT_DIR holds no build, naming the folder and the command', () => {
    const empty = path.join(work, 'no-build');
    fs.mkdirSync(empty);
    const error = thrownBy(() => loadSynthInputs({ WEB_CLIENT_DIR: empty }));
    expect(error).toBeInstanceOf(SettingsError);
    expect(error.message).toBe(`web client not built: run \`npm run build:web\` (no index.html in ${path.relative(process.cwd(), empty)})`);
  });

  test('fails when the build fails, with its output', () => {
    // A checkout whose app/web/build.ts cannot load: the build process exits non-zero.
    const checkout = path.join(work, 'broken-checkout');
    fs.mkdirSync(path.join(checkout, 'app/web'), { recursive: true });
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
    fs.writeFileSync(path.join(checkout, 'app/web/build.ts'), "throw new Error('vite exploded');\n");
    const error = thrownBy(() => buildWebClient(checkout));
    expect(error).toBeInstanceOf(WebClientBuildError);
    expect(error.message).toMatch(/^web client not built: `npm run build:web` failed \(exit 1\):\n[\s\S]*vite exploded/);
  });
});

describe('npm run synth', () => {
  test('refuses a left-over TF_STATE_BUCKET before synthesizing anything', () => {
    const outdir = path.join(work, 'cdktf.out');
    const result = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/synth.ts', '--outdir', outdir], {
      cwd: REPO,
      env: { ...process.env, TF_STATE_BUCKET: 'someone-elses-bucket' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'TF_STATE_BUCKET must not be set: the state bucket, region and key prefix come from stateBackend in platform.yaml ' +
        '(edit them there and unset TF_STATE_BUCKET), got "someone-elses-bucket"\nNothing was synthesized.\n',
    );
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test('stops on a missing web client build, saying how to build it, and synthesizes nothing', () => {
    const outdir = path.join(work, 'cdktf.out');
    const empty = path.join(work, 'no-web-build');
    fs.mkdirSync(empty);
    const result = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/synth.ts', '--outdir', outdir], {
      cwd: REPO,
      env: { ...process.env, WEB_CLIENT_DIR: empty },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`web client not built: run \`npm run build:web\` (no index.html in ${path.relative(REPO, empty)})\nNothing was synthesized.\n`);
    expect(fs.existsSync(outdir)).toBe(false);
  });

  test('names the platform settings problem and synthesizes nothing', () => {
    const outdir = path.join(work, 'cdktf.out');
    const bad = settingsFile('bad.yaml', platformSettingsYaml(['ap-southeast-1', 'eu-west-2']).replace(/access: admin/g, 'access: view'));
    const result = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/synth.ts', '--outdir', outdir], {
      cwd: REPO,
      env: { ...process.env, PLATFORM_SETTINGS: bad },
      encoding: 'utf8',
    });
    const shown = bad; // outside the repo: shown in full
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      [
        'Invalid platform settings (2 problems):',
        `  - ${shown}: regions.ap-southeast-1.clusterAccess must include at least one principal with access: admin (the role that deploys the addons and app stacks), got only view`,
        `  - ${shown}: regions.eu-west-2.clusterAccess must include at least one principal with access: admin (the role that deploys the addons and app stacks), got only view`,
        'Nothing was synthesized.',
        '',
      ].join('\n'),
    );
    expect(fs.existsSync(outdir)).toBe(false);
  });
});

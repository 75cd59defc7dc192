/**
 * Everything a synth runs on besides the code: the validated locations, the validated platform
 * settings, where state lives and which release to deploy. Read by the entry points only
 * (`main.ts`, `synth.ts`, `plan/plan-main.ts`), from the environment and the files it names:
 *
 * - `LOCATIONS_DIR` (default `locations/`) and `PLATFORM_SETTINGS` (default `platform.yaml`)
 * - `TF_BACKEND` (`s3`, the default: the bucket `platform.yaml` names; `local` for checks)
 * - `APP_IMAGE_TAG` (default `v<package version>`)
 * - `WEB_CLIENT_DIR`: a web client build to publish as it is (a CI artifact, a test fixture).
 *   Without it the checkout's own client is built first (`app/web/build.ts`, run as a process so
 *   stacks/ imports nothing of app/; it does nothing when the sources did not change) and
 *   WEB_BUILD_DIR (contract/web-delivery.ts) is published. Building here is what makes a fresh
 *   clone synthesize, and what gives the `--affected-since` worktree the client of its own ref.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendChoiceFromEnvironment, resolveBackend, type BackendConfig } from './infra/backend';
import { loadLocations } from './infra/config/load-locations';
import type { Location } from './infra/config/location';
import type { PlatformSettings } from './infra/config/platform-settings';
import { loadPlatformSettings } from './infra/config/platform-settings-loader';
import { defaultWebBuildDir, loadWebClientBuild, type WebClientBuild, WebClientBuildError } from './infra/config/web-client-build';
import { SettingsError } from './settings-error';

/** What `buildPlatformApp` and `synthesize` need besides the locations. */
export interface SynthOptions {
  readonly backend: BackendConfig;
  readonly imageTag: string;
  readonly settings: PlatformSettings;
  /** The web client every location's data stack publishes to its CDN bucket. */
  readonly webClient: WebClientBuild;
}

export interface SynthInputs extends SynthOptions {
  readonly locations: readonly Location[];
  readonly locationsDir: string;
  readonly platformSettingsFile: string;
}

export const REPO_ROOT = path.resolve(__dirname, '..');

/** Docker tag grammar; `latest` is refused because ECR tags are immutable and deploys must pin. */
const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function defaultImageTag(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `v${pkg.version}`;
}

/**
 * Checks the environment first (fast, and a wrong variable is the likelier mistake), then loads
 * the locations and the platform settings against them. Throws SettingsError (including
 * PlatformSettingsError) or LocationConfigError; nothing is built on a partly valid set.
 */
export function loadSynthInputs(env: Readonly<Record<string, string | undefined>>): SynthInputs {
  const imageTag = env.APP_IMAGE_TAG ?? defaultImageTag();
  if (!IMAGE_TAG_PATTERN.test(imageTag) || imageTag === 'latest') {
    throw new SettingsError(`APP_IMAGE_TAG must be a pinned image tag (letters, digits, _.-; not "latest"), got "${imageTag}"`);
  }
  const backendChoice = backendChoiceFromEnvironment(env);
  const locationsDir = path.resolve(env.LOCATIONS_DIR ?? path.join(REPO_ROOT, 'locations'));
  const platformSettingsFile = path.resolve(env.PLATFORM_SETTINGS ?? path.join(REPO_ROOT, 'platform.yaml'));

  const locations = loadLocations(locationsDir);
  const settings = loadPlatformSettings(platformSettingsFile, locations);
  const webClient = loadWebClientBuild(env.WEB_CLIENT_DIR ? path.resolve(env.WEB_CLIENT_DIR) : buildWebClient(REPO_ROOT));
  return { backend: resolveBackend(backendChoice, settings.stateBackend), imageTag, settings, webClient, locations, locationsDir, platformSettingsFile };
}

/**
 * Runs the checkout's web client build (`npm run build:web`, up to date in about 0.3 s) and
 * returns its folder. Throws WebClientBuildError with the build's own output when it fails.
 */
export function buildWebClient(repoRoot: string): string {
  const run = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), 'app/web/build.ts'], { cwd: repoRoot, encoding: 'utf8' });
  if (run.status !== 0) {
    const output = (run.stderr || run.stdout || run.error?.message || '').trim();
    throw new WebClientBuildError(`web client not built: \`npm run build:web\` failed (exit ${run.status ?? run.signal})${output ? `:\n${output}` : ''}`);
  }
  return defaultWebBuildDir(repoRoot);
}

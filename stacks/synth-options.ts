/**
 * Everything a synth runs on besides the code: the validated locations, the validated platform
 * settings, where state lives and which release to deploy. Read by the entry points only
 * (`main.ts`, `synth.ts`, `plan/plan-main.ts`), from the environment and the files it names:
 *
 * - `LOCATIONS_DIR` (default `locations/`) and `PLATFORM_SETTINGS` (default `platform.yaml`)
 * - `TF_BACKEND` (`s3`, the default: the bucket `platform.yaml` names; `local` for checks)
 * - `APP_IMAGE_TAG` (default `v<package version>`)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendChoiceFromEnvironment, resolveBackend, type BackendConfig } from './infra/backend';
import { loadLocations } from './infra/config/load-locations';
import type { Location } from './infra/config/location';
import type { PlatformSettings } from './infra/config/platform-settings';
import { loadPlatformSettings } from './infra/config/platform-settings-loader';
import { SettingsError } from './settings-error';

/** What `buildPlatformApp` and `synthesize` need besides the locations. */
export interface SynthOptions {
  readonly backend: BackendConfig;
  readonly imageTag: string;
  readonly settings: PlatformSettings;
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
  return { backend: resolveBackend(backendChoice, settings.stateBackend), imageTag, settings, locations, locationsDir, platformSettingsFile };
}

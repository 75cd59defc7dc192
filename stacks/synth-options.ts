/**
 * Synth-time settings that are not per location: where state lives and which release to deploy.
 * Read from the environment by the entry points only (`main.ts`, `synth.ts`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendFromEnvironment, type BackendConfig } from './backend';
import { SettingsError } from './settings-error';

export interface SynthOptions {
  readonly backend: BackendConfig;
  readonly imageTag: string;
  readonly locationsDir: string;
}

export const REPO_ROOT = path.resolve(__dirname, '..');

/** Docker tag grammar; `latest` is refused because ECR tags are immutable and deploys must pin. */
const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function defaultImageTag(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `v${pkg.version}`;
}

export function synthOptionsFromEnvironment(env: Readonly<Record<string, string | undefined>>): SynthOptions {
  const imageTag = env.APP_IMAGE_TAG ?? defaultImageTag();
  if (!IMAGE_TAG_PATTERN.test(imageTag) || imageTag === 'latest') {
    throw new SettingsError(`APP_IMAGE_TAG must be a pinned image tag (letters, digits, _.-; not "latest"), got "${imageTag}"`);
  }
  return {
    backend: backendFromEnvironment(env),
    imageTag,
    locationsDir: path.resolve(env.LOCATIONS_DIR ?? path.join(REPO_ROOT, 'locations')),
  };
}

/**
 * Synthesizes the whole platform the way `npm run synth` does (App + buildPlatformApp +
 * synthApp, the same files as app.synth, faster), so cross-stack wiring is resolved;
 * `Testing.synth` of one stack skips it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from '../../stacks/infra/cdktf';
import { synthApp } from '../../stacks/infra/cdktf-synth';
import { buildPlatformApp, type BuiltPlatform } from '../../stacks/infra/platform-app';
import { loadSynthInputs } from '../../stacks/synth-options';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const SAMPLE_LOCATIONS_DIR = path.join(REPO_ROOT, 'locations');

/** A synthesized stack's JSON, loosely typed: tests navigate it like Terraform would. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StackJson = Record<string, any>;

export interface SynthesizedPlatform {
  readonly built: BuiltPlatform;
  readonly outdir: string;
  readonly stacks: ReadonlyMap<string, StackJson>;
}

/**
 * `env` is the synth environment (TF_BACKEND, PLATFORM_SETTINGS, ...); the platform settings are
 * the committed `platform.yaml` unless it names another file.
 */
export function synthPlatform(env: Record<string, string> = {}, locationsDir = SAMPLE_LOCATIONS_DIR): SynthesizedPlatform {
  const { locations, backend, imageTag, settings, webClient } = loadSynthInputs({ ...env, LOCATIONS_DIR: locationsDir });
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-platform-'));
  const app = new App({ outdir });
  const built = buildPlatformApp(app, { locations, backend, imageTag, settings, webClient });
  synthApp(app);
  const stacks = new Map<string, StackJson>();
  for (const id of fs.readdirSync(path.join(outdir, 'stacks')).sort()) {
    stacks.set(id, JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', id, 'cdk.tf.json'), 'utf8')) as StackJson);
  }
  return { built, outdir, stacks };
}

/** Every `${...}` expression string anywhere in a JSON value. */
export function expressionsIn(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.includes('${')) found.push(value);
  } else if (Array.isArray(value)) {
    value.forEach((v) => expressionsIn(v, found));
  } else if (value && typeof value === 'object') {
    Object.values(value).forEach((v) => expressionsIn(v, found));
  }
  return found;
}

/** Resources of one type in a stack, by logical name. */
export function resourcesOf(stack: StackJson, type: string): Record<string, StackJson> {
  return (stack.resource?.[type] ?? {}) as Record<string, StackJson>;
}

/**
 * Synthesizes every stack of the given locations into `outdir`, atomically: the output is built in
 * a staging folder and swapped in only when synth succeeded, so a failed run leaves the previous
 * output intact and never a half-written one. Used by `npm run synth` and `npm run plan`.
 *
 * It runs cdktf's synth through `synthApp` (`infra/cdktf-synth.ts`), which skips the resolution work
 * cdktf repeats and writes the same files; `plainCdktf` runs cdktf's own `App.synth()` instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from './infra/cdktf';
import { synthApp } from './infra/cdktf-synth';
import type { Location } from './infra/config/location';
import { buildPlatformApp } from './infra/platform-app';
import type { StackKind } from './infra/stack-contracts';
import type { SynthOptions } from './synth-options';

export interface StackSummary {
  readonly stack: string;
  readonly kind: StackKind;
  readonly region: string;
  /** Absent for region-wide stacks. */
  readonly location?: string;
  readonly resources: number;
  readonly dataSources: number;
  readonly outputs: number;
}

export interface SynthesisResult {
  readonly outdir: string;
  readonly stacks: readonly StackSummary[];
}

interface SynthesizedStackJson {
  resource?: Record<string, Record<string, unknown>>;
  data?: Record<string, Record<string, unknown>>;
  output?: Record<string, unknown>;
}

const countNested = (blocks: Record<string, Record<string, unknown>> | undefined) =>
  Object.values(blocks ?? {}).reduce((sum, byName) => sum + Object.keys(byName).length, 0);

/** Path of a stack's synthesized Terraform JSON inside a cdktf output folder. */
export function stackJsonPath(outdir: string, stack: string): string {
  return path.join(outdir, 'stacks', stack, 'cdk.tf.json');
}

function counts(outdir: string, stack: string) {
  const json = JSON.parse(fs.readFileSync(stackJsonPath(outdir, stack), 'utf8')) as SynthesizedStackJson;
  return { resources: countNested(json.resource), dataSources: countNested(json.data), outputs: Object.keys(json.output ?? {}).length };
}

/** Replaces `target` with `staging` so readers see the old or the new tree, never a mix. */
function swapInto(staging: string, target: string): void {
  const old = `${target}.old-${process.pid}`;
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(staging, target);
  fs.rmSync(old, { recursive: true, force: true });
}

export interface SynthesizeOptions {
  /**
   * Synthesize with cdktf's own `App.synth()`: the same files, slower (`npm run bench:synth` prints
   * both); the reference `synthApp` is tested against.
   * @default false
   */
  readonly plainCdktf?: boolean;
}

export function synthesize(locations: readonly Location[], options: SynthOptions, outdir: string, how: SynthesizeOptions = {}): SynthesisResult {
  fs.mkdirSync(path.dirname(outdir), { recursive: true });
  const staging = fs.mkdtempSync(`${outdir}.staging-`);
  try {
    const app = new App({ outdir: staging });
    const built = buildPlatformApp(app, { locations, backend: options.backend, imageTag: options.imageTag, settings: options.settings, webClient: options.webClient });
    if (how.plainCdktf) app.synth();
    else synthApp(app);
    const stacks: StackSummary[] = [
      ...[...built.platforms.keys()].flatMap((region) => [
        { stack: `platform-${region}`, kind: 'platform' as const, region, ...counts(staging, `platform-${region}`) },
        { stack: `addons-${region}`, kind: 'addons' as const, region, ...counts(staging, `addons-${region}`) },
      ]),
      ...[...built.locations.values()].flatMap(({ location }) =>
        (['data', 'app'] as const).map((kind) => {
          const stack = `${location.id}-${kind}`;
          return { stack, kind, region: location.region, location: location.id, ...counts(staging, stack) };
        }),
      ),
    ];
    swapInto(staging, outdir);
    return { outdir, stacks };
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

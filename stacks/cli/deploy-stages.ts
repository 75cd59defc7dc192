/**
 * Which stacks `npm run deploy|diff -- <location-glob>...` runs, in which order, and the cdktf
 * command lines that run them.
 *
 * A location's change reaches four stacks, deployed in this order:
 * 1. `platform-<region>`: the node groups' bounds grow with the region's locations, and the data
 *    stack reads the VPC and the cluster from it;
 * 2. `<location>-data`: creates the location's alert topic among the rest;
 * 3. `addons-<region>`: Alertmanager's route to that topic (until then the location's alerts
 *    fall to the null receiver) and the load balancer controller the app needs;
 * 4. `<location>-app`: depends on all three.
 *
 * How cdktf 0.21 runs several stacks (node_modules/cdktf-cli/bundle/bin/cmds/handlers.js,
 * `CdktfProject.deploy` and `execute`):
 * - `cdktf deploy A B` first refuses the run unless every dependency of A and B is listed too
 *   ("The following dependencies are not included in the stacks to run: ... Either add them or
 *   add the --ignore-missing-stack-dependencies flag"), then starts each stack as soon as its
 *   dependencies are done, all at once by default (`--parallelism` -1).
 * - With `--ignore-missing-stack-dependencies` that check is skipped and so is the wait: the
 *   next stack is simply the first pending one in command-line order, so every listed stack
 *   starts at once. One invocation with all four stages would deploy the app beside its data.
 * - `cdktf diff [stack]` takes exactly one stack and checks no dependencies.
 * - `--skip-synth` reads the stacks of the last synth (`cdktf.out`) instead of running the app.
 *
 * So we synthesize once, then run one `cdktf deploy --skip-synth` per stage and start a stage
 * only after the previous one exited 0. Within a stage the stacks are independent (one
 * platform or addons stack per region, one data or app stack per location), so cdktf may run
 * them in parallel. Every stage after the first depends on stacks of an earlier stage, which is
 * why it needs `--ignore-missing-stack-dependencies`; the flag also lets a stack depend on stacks
 * not being deployed at all (another location's data stack, were addons ever to read it): those
 * were deployed when their location was onboarded, and their state is only read. `diff` runs
 * one `cdktf diff --skip-synth` per stack in the same order; each diff reads other stacks'
 * outputs from their current state, so a stage's diff does not show what the stages before it
 * would change (and for a location never deployed, the app diff fails until its data stack
 * exists).
 */
import type { Location } from '../infra/config/location';
import { matchLocations } from '../checks/plan/location-glob';
import { addonsStackId } from '../infra/stack-kinds/addons-stack';
import { platformStackId } from '../infra/stack-kinds/platform-stack';
import type { StackKind } from '../infra/stack-contracts';

export type CdktfVerb = 'deploy' | 'diff';

/** Stacks of one kind, none depending on another of the same stage. */
export interface DeployStage {
  readonly kind: StackKind;
  readonly stacks: readonly string[];
}

export interface LocationSelection {
  /** The locations some glob matched, in the order of `locations`. */
  readonly selected: readonly Location[];
  /** Globs that matched no location (a typo would otherwise deploy less than asked, silently). */
  readonly unmatched: readonly string[];
}

export function selectLocations(locations: readonly Location[], globs: readonly string[]): LocationSelection {
  const ids = locations.map((l) => l.id);
  const matched = new Set(matchLocations(ids, globs));
  return {
    selected: locations.filter((l) => matched.has(l.id)),
    unmatched: globs.filter((glob) => matchLocations(ids, [glob]).length === 0),
  };
}

/** The stages that deploy `locations` and what they change in their regions, in order. */
export function deployStages(locations: readonly Location[]): DeployStage[] {
  const regions = [...new Set(locations.map((l) => l.region))].sort();
  const ids = locations.map((l) => l.id).sort();
  // Location stack ids are a contract (stacks/infra/platform-app.ts): they name the state files.
  const stages: DeployStage[] = [
    { kind: 'platform', stacks: regions.map(platformStackId) },
    { kind: 'data', stacks: ids.map((id) => `${id}-data`) },
    { kind: 'addons', stacks: regions.map(addonsStackId) },
    { kind: 'app', stacks: ids.map((id) => `${id}-app`) },
  ];
  return stages.filter((stage) => stage.stacks.length > 0);
}

export interface CdktfCommandOptions {
  /**
   * Pass `--auto-approve` to `cdktf deploy`: CI has no terminal to approve each stack's plan in.
   * @default false - cdktf asks for each stack
   */
  readonly autoApprove?: boolean;
}

/** One cdktf run: its arguments, and the stacks it covers (for messages). */
export interface CdktfCommand {
  readonly args: readonly string[];
  readonly stacks: readonly string[];
}

/** The cdktf runs, in order: one synth, then one per stage (deploy) or per stack (diff). */
export function cdktfCommands(verb: CdktfVerb, stages: readonly DeployStage[], options: CdktfCommandOptions = {}): CdktfCommand[] {
  const autoApprove = options.autoApprove ?? false;
  const synth: CdktfCommand = { args: ['synth'], stacks: [] };
  if (verb === 'diff') {
    return [synth, ...stages.flatMap((stage) => stage.stacks.map((stack) => ({ args: ['diff', stack, '--skip-synth'], stacks: [stack] })))];
  }
  return [
    synth,
    ...stages.map((stage, i) => ({
      args: [
        'deploy',
        ...stage.stacks,
        '--skip-synth',
        ...(i > 0 ? ['--ignore-missing-stack-dependencies'] : []),
        ...(autoApprove ? ['--auto-approve'] : []),
      ],
      stacks: stage.stacks,
    })),
  ];
}

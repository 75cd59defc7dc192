/**
 * What `npm run affected` tells the pipelines: the locations to deploy after a change (the
 * matrix of `.github/workflows/deploy.yml`), each with its region and the IAM role CI assumes
 * there, and the same per region (the matrix of `.github/workflows/drift.yml`, with every
 * location).
 *
 * A location is deployed when one of its own stacks is affected, or when a stack of its region
 * (`platform-<region>`, `addons-<region>`) is: `npm run deploy -- <location>` applies the region's
 * stacks before and between the location's own (stacks/cli/deploy-stages.ts), and no other
 * command deploys them. A platform change already reaches every location of the region through
 * remote state; an addons change reaches none that way, so it is named here.
 */
import type { Location } from '../../infra/config/location';
import type { PlatformSettings } from '../../infra/config/platform-settings';
import { SettingsError } from '../../settings-error';
import type { StackSummary } from '../../synthesize';
import { affectedReason, type AffectedStacks } from './affected-stacks';

export interface LocationTarget {
  readonly location: string;
  readonly region: string;
  /** The role CI assumes through OIDC to deploy this location (`deployRoleOf`). */
  readonly deployRole: string;
  /** `<stack>: <why>` for every affected stack that makes this location's deploy necessary. */
  readonly reasons: readonly string[];
}

export interface RegionTarget {
  readonly region: string;
  readonly deployRole: string;
  /** The listed locations of this region. */
  readonly locations: readonly string[];
}

export interface DeployTargets {
  /** The git ref the change is measured from; absent when every location is listed (`--all`). */
  readonly since?: string;
  readonly locations: readonly LocationTarget[];
  readonly regions: readonly RegionTarget[];
  /** Stacks synthesized at `since` and gone now. Deploys never destroy; someone must, by hand. */
  readonly removed: readonly string[];
}

const IAM_ROLE_ARN = /^arn:[a-z-]+:iam::\d{12}:role\//;

/**
 * The role CI assumes in `region`: the first `admin` entry of the region's `clusterAccess` in
 * `platform.yaml` that is a role. It must be a cluster admin anyway (the addons and app stacks
 * reach the Kubernetes API with it), and only roles can be assumed through OIDC, not users.
 */
export function deployRoleOf(settings: PlatformSettings, region: string): string {
  const file = settings.sourceFile;
  const regionSettings = settings.regions.get(region);
  if (!regionSettings) throw new SettingsError(`${file}: regions.${region} is required: a location is in ${region}, got no section`);
  const role = regionSettings.clusterAccess.find((entry) => entry.access === 'admin' && IAM_ROLE_ARN.test(entry.principalArn));
  if (!role) {
    const admins = regionSettings.clusterAccess.filter((entry) => entry.access === 'admin').map((entry) => entry.principalArn);
    throw new SettingsError(
      `${file}: regions.${region}.clusterAccess needs an admin IAM role for CI to assume through OIDC (users cannot be assumed), got ${admins.map((a) => `"${a}"`).join(', ') || 'no admin'}`,
    );
  }
  return role.principalArn;
}

export interface DeployTargetsInput {
  readonly locations: readonly Location[];
  readonly settings: PlatformSettings;
  /** The synthesized stacks of the working tree. */
  readonly stacks: readonly StackSummary[];
  /**
   * What a change affects (`compareSyntheses`).
   * @default - every location is listed
   */
  readonly affected?: AffectedStacks;
}

export function deployTargets(input: DeployTargetsInput): DeployTargets {
  const { affected } = input;
  const why = new Map(affected?.affected.map((a) => [a.stack, affectedReason(a)]));
  const regionStacks = (region: string) => input.stacks.filter((s) => !s.location && s.region === region);
  const locations: LocationTarget[] = [];
  for (const location of input.locations) {
    const own = input.stacks.filter((s) => s.location === location.id);
    const reasons = affected
      ? [
          ...own.filter((s) => why.has(s.stack)).map((s) => `${s.stack}: ${why.get(s.stack)}`),
          ...regionStacks(location.region)
            .filter((s) => why.has(s.stack))
            .map((s) => `${s.stack}: ${why.get(s.stack)} (a region stack, deployed with each location of ${location.region})`),
        ]
      : ['every location is listed (--all)'];
    if (reasons.length > 0) locations.push({ location: location.id, region: location.region, deployRole: deployRoleOf(input.settings, location.region), reasons });
  }
  const regions = [...new Set(locations.map((l) => l.region))].sort().map((region) => ({
    region,
    deployRole: deployRoleOf(input.settings, region),
    locations: locations.filter((l) => l.region === region).map((l) => l.location),
  }));
  return { ...(affected ? { since: affected.ref } : {}), locations, regions, removed: affected?.removed ?? [] };
}

/** For people: one line per listed location with its reasons, then removed stacks. */
export function renderDeployTargets(targets: DeployTargets, locationCount: number): string[] {
  const lines = [
    `${targets.locations.length} of ${locationCount} location(s) to deploy${targets.since ? ` (affected since ${targets.since})` : ''}:`,
    ...targets.locations.map((l) => `  ${l.location} (${l.region}, role ${l.deployRole}): ${l.reasons.join('; ')}`),
  ];
  if (targets.removed.length > 0) {
    lines.push(
      `REMOVED since ${targets.since}: ${targets.removed.join(', ')}. No deploy destroys a stack; ` +
        `destroy each deliberately from a checkout of ${targets.since} (npx cdktf destroy <stack>).`,
    );
  }
  return lines;
}

/**
 * Turns one parsed location file into a `Location`: derives the technical sizing, applies the
 * overrides, and checks the rules that relate fields to each other.
 */
import type { Location, TechnicalSizing, WorkloadSizing } from './location';
import type { LocationFile } from './location-schema';
import { AWS_RESERVED_TAG_KEY_PREFIX, REQUIRED_TAG_KEYS } from './location-schema';
// No import cycle: of stacks/infra/config, the policy rules import only location-schema.ts, which
// imports nothing of stacks/checks/policy (so the waiver check cannot move into the schema). Checking
// waivers here makes every entry point (synth, plan, cdktf, the CLIs) refuse an unknown rule id,
// not only `npm run plan`.
import { RULE_IDS } from '../../checks/policy/rules';
import type { LocationProblem } from './location-config-error';
import { AWS_REGIONS, knownRegions } from './regions';
import { deriveSizing, tierForPeakOrders } from './sizing';
import { describeValue } from './zod-problems';

/** Tags the platform sets on every resource; a location file may not set them. */
export const RESERVED_TAG_KEYS = ['location', 'managed-by', 'stack'] as const;

export type ResolveResult = { ok: true; location: Location } | { ok: false; problems: LocationProblem[] };

function applyOverrides(derived: TechnicalSizing, o: LocationFile['overrides']): TechnicalSizing {
  return {
    database: { ...derived.database, ...o?.database },
    redis: { ...derived.redis, ...o?.redis },
    api: { ...derived.api, ...o?.api },
    ws: { ...derived.ws, ...o?.ws },
    nginx: { ...derived.nginx, ...o?.nginx },
  };
}

function checkWorkload(name: 'api' | 'ws', w: WorkloadSizing, problem: (field: string, message: string) => void): void {
  if (w.minReplicas > w.maxReplicas) {
    problem(`overrides.${name}.minReplicas`, `must be at most ${name}.maxReplicas (${w.maxReplicas}), got ${w.minReplicas}`);
  }
  if (w.minReplicas < 2) {
    // One pod cannot survive a node drain; the PodDisruptionBudget would block every drain.
    problem(`overrides.${name}.minReplicas`, `must be at least 2 so a node drain keeps the service up, got ${w.minReplicas}`);
  }
  if (w.cpuRequestMillicores > w.cpuLimitMillicores) {
    problem(`overrides.${name}.cpuRequestMillicores`, `must be at most ${name}.cpuLimitMillicores (${w.cpuLimitMillicores}), got ${w.cpuRequestMillicores}`);
  }
  if (w.memoryRequestMiB > w.memoryLimitMiB) {
    problem(`overrides.${name}.memoryRequestMiB`, `must be at most ${name}.memoryLimitMiB (${w.memoryLimitMiB}), got ${w.memoryRequestMiB}`);
  }
}

export function resolveLocation(file: string, expectedId: string, parsed: LocationFile): ResolveResult {
  const problems: LocationProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ file, field, message });

  if (parsed.id !== expectedId) {
    problem('id', `must match the file name "${expectedId}", got ${describeValue(parsed.id)}`);
  }

  const zones = AWS_REGIONS[parsed.region];
  if (!zones) {
    problem('region', `must be one of ${knownRegions().join(', ')}, got ${describeValue(parsed.region)}`);
  } else {
    const seen = new Set<string>();
    parsed.availabilityZones.forEach((az, i) => {
      if (!zones.includes(az)) {
        problem(`availabilityZones[${i}]`, `must be a zone of ${parsed.region} (${zones.join(', ')}), got ${describeValue(az)}`);
      } else if (seen.has(az)) {
        problem(`availabilityZones[${i}]`, `must not repeat a zone, got ${describeValue(az)} twice`);
      }
      seen.add(az);
    });
  }

  for (const key of REQUIRED_TAG_KEYS) {
    if (!(key in parsed.tags)) {
      problem('tags', `must include "${key}" (required cost-allocation tags: ${REQUIRED_TAG_KEYS.join(', ')})`);
    }
  }
  for (const key of RESERVED_TAG_KEYS) {
    if (key in parsed.tags) {
      problem(`tags.${key}`, `is set by the platform and must not be set in a location file`);
    }
  }
  for (const key of Object.keys(parsed.tags)) {
    if (AWS_RESERVED_TAG_KEY_PREFIX.test(key)) {
      problem(`tags.${key}`, `must not begin with "aws:" (any case): AWS reserves the prefix and refuses the tag`);
    }
  }
  const knownRules = new Set(RULE_IDS);
  const waived = new Set<string>();
  (parsed.policyWaivers ?? []).forEach((w, i) => {
    // A typo would otherwise waive nothing, silently.
    if (!knownRules.has(w.rule)) problem(`policyWaivers[${i}].rule`, `names no policy rule, got "${w.rule}"`);
    else if (waived.has(w.rule)) problem(`policyWaivers[${i}].rule`, `must not waive a rule twice, got "${w.rule}" again`);
    waived.add(w.rule);
  });
  if (parsed.domains.api === parsed.domains.cdn) {
    problem('domains.cdn', `must differ from domains.api, got ${describeValue(parsed.domains.cdn)} for both`);
  }

  const tier = parsed.business.tier ?? tierForPeakOrders(parsed.business.peakOrdersPerMinute);
  const business = { tier, seats: parsed.business.seats, peakOrdersPerMinute: parsed.business.peakOrdersPerMinute };
  const sizing = applyOverrides(deriveSizing(business), parsed.overrides);

  checkWorkload('api', sizing.api, problem);
  checkWorkload('ws', sizing.ws, problem);
  if (sizing.database.maxAllocatedStorageGiB < sizing.database.allocatedStorageGiB) {
    problem(
      'overrides.database.maxAllocatedStorageGiB',
      `must be at least database.allocatedStorageGiB (${sizing.database.allocatedStorageGiB}), got ${sizing.database.maxAllocatedStorageGiB}`,
    );
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    location: {
      id: parsed.id,
      displayName: parsed.displayName,
      region: parsed.region,
      availabilityZones: [...parsed.availabilityZones],
      business,
      sizing,
      domains: { ...parsed.domains },
      tags: { ...parsed.tags },
      alertEmail: parsed.alertEmail,
      databasePasswordVersion: parsed.databasePasswordVersion ?? 1,
      applyChanges: {
        database: parsed.applyChanges?.database ?? 'maintenance-window',
        redis: parsed.applyChanges?.redis ?? 'maintenance-window',
      },
      policyWaivers: (parsed.policyWaivers ?? []).map((w) => ({ rule: w.rule, reason: w.reason })),
      sourceFile: file,
    },
  };
}

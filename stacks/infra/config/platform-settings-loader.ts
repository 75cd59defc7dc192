/**
 * Reads and validates the platform settings file (`platform.yaml`) together with the validated
 * locations, and returns `PlatformSettings` or throws one PlatformSettingsError listing every
 * problem. Nothing downstream runs on partly valid settings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Location } from './location';
import type { HostedZone, PlatformSettings, RegionPlatformSettings } from './platform-settings';
import { PlatformSettingsError, type PlatformSettingsProblem } from './platform-settings-error';
import { platformSettingsFileSchema, regionPlatformSettingsSchema, type RegionPlatformSettingsFile } from './platform-settings-schema';
import { AWS_REGIONS, knownRegions } from './regions';
import { problemsFromZod } from './zod-problems';

export type PlatformSettingsParseResult =
  | { readonly ok: true; readonly settings: PlatformSettings }
  | { readonly ok: false; readonly problems: PlatformSettingsProblem[] };

/** Problems between entries of one list: the index of each repeat of an earlier value. */
function repeats<T>(items: readonly T[], key: (item: T) => string): { index: number; value: string }[] {
  const seen = new Set<string>();
  const found: { index: number; value: string }[] = [];
  items.forEach((item, index) => {
    const value = key(item);
    if (seen.has(value)) found.push({ index, value });
    seen.add(value);
  });
  return found;
}

function regionProblems(file: string, region: string, settings: RegionPlatformSettingsFile): PlatformSettingsProblem[] {
  const problems: PlatformSettingsProblem[] = [];
  const at = `regions.${region}`;
  const { cidrs, securityGroupIds } = settings.clusterEndpointAccess;
  if (cidrs.length === 0 && securityGroupIds.length === 0) {
    problems.push({
      file,
      field: `${at}.clusterEndpointAccess`,
      message: 'must list at least one CIDR or security group id (the deploy runner, VPN or bastion that reaches the private EKS API), got none',
    });
  }
  for (const { index, value } of repeats(cidrs, (c) => c)) {
    problems.push({ file, field: `${at}.clusterEndpointAccess.cidrs[${index}]`, message: `must not repeat a block, got "${value}" again` });
  }
  for (const { index, value } of repeats(securityGroupIds, (g) => g)) {
    problems.push({ file, field: `${at}.clusterEndpointAccess.securityGroupIds[${index}]`, message: `must not repeat a security group, got "${value}" again` });
  }
  for (const { index, value } of repeats(settings.clusterAccess, (e) => e.principalArn)) {
    problems.push({
      file,
      field: `${at}.clusterAccess[${index}].principalArn`,
      message: `must not repeat a principal (EKS takes one access entry per principal), got "${value}" again`,
    });
  }
  if (!settings.clusterAccess.some((entry) => entry.access === 'admin')) {
    problems.push({
      file,
      field: `${at}.clusterAccess`,
      message: `must include at least one principal with access: admin (the role that deploys the addons and app stacks), got ${
        settings.clusterAccess.length === 0 ? 'none' : `only ${settings.clusterAccess.map((e) => e.access).join(', ')}`
      }`,
    });
  }
  return problems;
}

function hostedZoneProblems(file: string, zones: readonly HostedZone[]): PlatformSettingsProblem[] {
  return [
    ...repeats(zones, (z) => z.domain).map(({ index, value }) => ({
      file,
      field: `hostedZones[${index}].domain`,
      message: `must not repeat a domain, got "${value}" again`,
    })),
    ...repeats(zones, (z) => z.zoneId).map(({ index, value }) => ({
      file,
      field: `hostedZones[${index}].zoneId`,
      message: `must not repeat a hosted zone, got "${value}" again`,
    })),
  ];
}

/** Parses one settings file's text; `file` is the path shown in messages (relative to the repo). */
export function parsePlatformSettingsText(file: string, text: string): PlatformSettingsParseResult {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const detail = (err as Error).message.split('\n')[0]!.replace(/:\s*$/, '');
    return { ok: false, problems: [{ file, field: '', message: `is not valid YAML: ${detail}` }] };
  }
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [{ file, field: '', message: 'must be a mapping of platform settings, got ' + (raw == null ? 'an empty file' : typeof raw) }] };
  }

  const parsed = platformSettingsFileSchema.safeParse(raw, { reportInput: true });
  const problems: PlatformSettingsProblem[] = parsed.success ? [] : problemsFromZod(file, platformSettingsFileSchema, parsed.error);
  const rawRegions = (raw as { regions?: unknown }).regions;
  const regions = new Map<string, RegionPlatformSettings>();
  if (rawRegions && typeof rawRegions === 'object' && !Array.isArray(rawRegions)) {
    for (const [region, value] of Object.entries(rawRegions)) {
      const at = `regions.${region}`;
      if (!AWS_REGIONS[region]) {
        problems.push({ file, field: at, message: `is not a known region (allowed: ${knownRegions().join(', ')})` });
        continue;
      }
      const regionParsed = regionPlatformSettingsSchema.safeParse(value, { reportInput: true });
      if (!regionParsed.success) {
        problems.push(
          ...problemsFromZod(file, regionPlatformSettingsSchema, regionParsed.error).map((p) => ({ ...p, field: p.field ? `${at}.${p.field}` : at })),
        );
        continue;
      }
      problems.push(...regionProblems(file, region, regionParsed.data));
      regions.set(region, { region, ...regionParsed.data });
    }
  }
  if (parsed.success) problems.push(...hostedZoneProblems(file, parsed.data.hostedZones));
  if (!parsed.success || problems.length > 0) return { ok: false, problems };

  return {
    ok: true,
    settings: {
      stateBackend: parsed.data.stateBackend,
      hostedZones: parsed.data.hostedZones,
      regions: new Map([...regions.entries()].sort(([a], [b]) => a.localeCompare(b))),
      sourceFile: file,
    },
  };
}

/** Rules across files: every region that has a location needs a `regions.<region>` section. */
export function locationCoverageProblems(settings: PlatformSettings, locations: readonly Location[]): PlatformSettingsProblem[] {
  const filesByRegion = new Map<string, string[]>();
  for (const location of locations) {
    if (!settings.regions.has(location.region)) {
      filesByRegion.set(location.region, [...(filesByRegion.get(location.region) ?? []), location.sourceFile]);
    }
  }
  return [...filesByRegion.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([region, files]) => ({
      file: settings.sourceFile,
      field: `regions.${region}`,
      message: `is required: ${files.join(', ')} ${files.length === 1 ? 'is' : 'are'} in ${region}; add who reaches its cluster (clusterEndpointAccess) and who may deploy (clusterAccess)`,
    }));
}

/**
 * Loads the settings file and checks it against the validated locations. `displayRoot` makes the
 * file name in messages relative when the file is below it (default: cwd).
 */
export function loadPlatformSettings(file: string, locations: readonly Location[], options: { displayRoot?: string } = {}): PlatformSettings {
  const relative = path.relative(options.displayRoot ?? process.cwd(), file);
  const shown = relative && !relative.startsWith('..') ? relative : file;
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    throw new PlatformSettingsError([
      { file: shown, field: '', message: 'does not exist: create it (README: "Platform settings") or point PLATFORM_SETTINGS at it' },
    ]);
  }
  const result = parsePlatformSettingsText(shown, fs.readFileSync(file, 'utf8'));
  if (!result.ok) throw new PlatformSettingsError(result.problems);
  const problems = locationCoverageProblems(result.settings, locations);
  if (problems.length > 0) throw new PlatformSettingsError(problems);
  return result.settings;
}

/**
 * `npm run location:add -- <id> --region <region> [--tier small|medium|large] [options]`
 * Writes `locations/<id>.yaml` from defaults, after checking that it parses and that it does not
 * clash with an existing location. The file is written whole (temp file + rename) or not at all.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { crossFileProblems, loadLocations, parseLocationText } from '../infra/config/load-locations';
import { type Location, TIERS, type Tier } from '../infra/config/location';
import { formatProblem, LocationConfigError } from '../infra/config/location-config-error';
import { locationIdProblems } from '../infra/config/location-schema';
import { AWS_REGIONS, knownRegions } from '../infra/config/regions';
import { expectedError, isParseArgsError, runCli } from './run-cli';
import { sizingTable } from './sizing-table';

/** Business sizing a new location starts from when the command line gives none. */
const TIER_DEFAULTS: Record<Tier, { seats: number; peakOrdersPerMinute: number }> = {
  small: { seats: 40, peakOrdersPerMinute: 25 },
  medium: { seats: 120, peakOrdersPerMinute: 90 },
  large: { seats: 300, peakOrdersPerMinute: 300 },
};
export const DEFAULT_BASE_DOMAIN = 'banrimkwae.com';

const USAGE = `usage: npm run location:add -- <id> --region <region> [--tier ${TIERS.join('|')}]
       [--name "Display Name"] [--zones a,b,c] [--seats N] [--peak-orders N]
       [--domain base.example.com] [--email ops@example.com] [--cost-center CC] [--owner TEAM] [--dir locations]`;

export class UsageError extends Error {}

export interface AddLocationOptions {
  readonly id: string;
  readonly region: string;
  readonly tier?: Tier;
  readonly name?: string;
  readonly zones?: readonly string[];
  readonly seats?: number;
  readonly peakOrdersPerMinute?: number;
  readonly domain?: string;
  readonly email?: string;
  readonly costCenter?: string;
  readonly owner?: string;
}

function titleCase(id: string): string {
  return id.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
}

/** The YAML text of a new location file; pure, so tests can check it without touching disk. */
export function newLocationYaml(o: AddLocationOptions): string {
  const idProblems = locationIdProblems(o.id);
  if (idProblems.length > 0) throw new UsageError(`id ${idProblems.join('; ')}, got "${o.id}"`);
  const zones = AWS_REGIONS[o.region];
  if (!zones) throw new UsageError(`--region must be one of ${knownRegions().join(', ')}, got "${o.region}"`);
  const tier = o.tier ?? 'small';
  const domain = o.domain ?? DEFAULT_BASE_DOMAIN;
  const file = {
    id: o.id,
    displayName: o.name ?? titleCase(o.id),
    region: o.region,
    availabilityZones: [...(o.zones ?? zones.slice(0, tier === 'small' ? 2 : 3))],
    business: {
      tier,
      seats: o.seats ?? TIER_DEFAULTS[tier].seats,
      peakOrdersPerMinute: o.peakOrdersPerMinute ?? TIER_DEFAULTS[tier].peakOrdersPerMinute,
    },
    domains: { api: `api.${o.id}.${domain}`, cdn: `cdn.${o.id}.${domain}` },
    tags: { 'cost-center': o.costCenter ?? `cc-${o.id}`, owner: o.owner ?? 'platform-team', environment: 'production' },
    alertEmail: o.email ?? `ops-${o.id}@${domain}`,
  };
  const header = [
    `# Restaurant location "${file.displayName}", created by \`npm run location:add\`.`,
    '# Technical sizing is derived from `business`; see it with `npm run locations`.',
    '# Override any derived value under `overrides:` (database, redis, api, ws, nginx).',
  ].join('\n');
  return `${header}\n${stringify(file)}`;
}

/** Validates and writes the file; returns its path. Throws without writing on any problem. */
export function addLocation(dir: string, o: AddLocationOptions): string {
  const text = newLocationYaml(o);
  const target = path.join(dir, `${o.id}.yaml`);
  for (const ext of ['.yaml', '.yml', '.json']) {
    const existing = path.join(dir, `${o.id}${ext}`);
    if (fs.existsSync(existing)) throw new UsageError(`${existing} already exists; edit it instead of adding "${o.id}" again`);
  }
  const parsed = parseLocationText(path.relative(process.cwd(), target), text);
  if (!parsed.ok) throw new LocationConfigError(parsed.problems);

  // Cross-file rules (unique ids and host names) are checked against the existing locations.
  const existing = fs.existsSync(dir) && fs.readdirSync(dir).some((n) => /\.(ya?ml|json)$/.test(n)) ? loadLocations(dir) : [];
  const clashes = crossFileProblems([...existing, parsed.location]);
  if (clashes.length > 0) throw new LocationConfigError(clashes);

  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${o.id}.yaml.tmp`);
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, target);
  return target;
}

/**
 * What to do after the file is written. The first location of a region also needs the region's
 * section in platform.yaml (who reaches and deploys its cluster), which synth would otherwise
 * demand only later.
 */
export function nextSteps(id: string, region: string, locations: readonly Pick<Location, 'id' | 'region'>[]): string[] {
  const steps = [`next: review the file, \`npm run synth\` to generate its stacks, then \`npm run diff -- ${id}\` and \`npm run deploy -- ${id}\``];
  if (!locations.some((l) => l.region === region && l.id !== id)) {
    steps.push(
      `${id} is the first location of ${region}: add regions.${region} to platform.yaml (clusterEndpointAccess and clusterAccess, README: "Platform settings") before synth`,
    );
  }
  return steps;
}

function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  return Number(value);
}

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      region: { type: 'string' }, tier: { type: 'string' }, name: { type: 'string' }, zones: { type: 'string' },
      seats: { type: 'string' }, 'peak-orders': { type: 'string' }, domain: { type: 'string' }, email: { type: 'string' },
      'cost-center': { type: 'string' }, owner: { type: 'string' }, dir: { type: 'string', default: 'locations' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`expected one location id, got ${positionals.length}`);
  if (!values.region) throw new UsageError('--region is required');
  if (values.tier !== undefined && !(TIERS as readonly string[]).includes(values.tier)) {
    throw new UsageError(`--tier must be one of ${TIERS.join(', ')}, got "${values.tier}"`);
  }
  const dir = path.resolve(values.dir!);
  const written = addLocation(dir, {
    id: positionals[0]!,
    region: values.region,
    tier: values.tier as Tier | undefined,
    name: values.name,
    zones: values.zones?.split(',').map((z) => z.trim()),
    seats: intOption('seats', values.seats),
    peakOrdersPerMinute: intOption('peak-orders', values['peak-orders']),
    domain: values.domain,
    email: values.email,
    costCenter: values['cost-center'],
    owner: values.owner,
  });
  console.log(`wrote ${path.relative(process.cwd(), written)}\n`);
  const locations = loadLocations(dir);
  console.log(sizingTable(locations.filter((l) => l.id === positionals[0])));
  console.log(`\n${nextSteps(positionals[0]!, values.region, locations).join('\n')}`);
  return 0;
}

if (require.main === module) {
  runCli(() => main(process.argv.slice(2)), {
    expected: [
      expectedError([LocationConfigError], 1, (err) => err.problems.map(formatProblem).join('\n')),
      { matches: (err) => err instanceof UsageError || isParseArgsError(err), exitCode: 2, describe: (err) => `error: ${err.message}\n${USAGE}` },
    ],
  });
}

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLocations } from '../../stacks/infra/config/load-locations';
import type { Location } from '../../stacks/infra/config/location';
import { hostedZoneFor } from '../../stacks/infra/config/platform-settings';
import { PlatformSettingsError } from '../../stacks/infra/config/platform-settings-error';
import { loadPlatformSettings } from '../../stacks/infra/config/platform-settings-loader';
import { SettingsError } from '../../stacks/settings-error';
import { platformSettingsYaml } from '../../tools/synth/platform-settings';

const REPO = path.join(__dirname, '../..');
const SAMPLE_LOCATIONS = loadLocations(path.join(REPO, 'locations'), { displayRoot: REPO });
const COMMITTED = path.join(REPO, 'platform.yaml');

function errorOf(fn: () => unknown): PlatformSettingsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PlatformSettingsError) return err;
    throw err;
  }
  throw new Error('expected a PlatformSettingsError');
}

function tempFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-settings-'));
  const file = path.join(dir, 'platform.yaml');
  fs.writeFileSync(file, text);
  return file;
}

const inRegion = (location: Location, region: string, id = location.id): Location => ({ ...location, id, region, sourceFile: `locations/${id}.yaml` });

describe('the committed platform.yaml', () => {
  const settings = loadPlatformSettings(COMMITTED, SAMPLE_LOCATIONS, { displayRoot: REPO });

  test('loads against the sample locations, naming itself as the source', () => {
    expect(settings.sourceFile).toBe('platform.yaml');
    expect(settings.stateBackend).toEqual({ bucket: 'banrimkwae-platform-tfstate', region: 'ap-southeast-1', keyPrefix: 'restaurant-platform' });
  });

  test('has a section for every region of the sample locations', () => {
    expect([...settings.regions.keys()]).toEqual(['ap-southeast-1', 'eu-west-2']);
    expect(new Set(SAMPLE_LOCATIONS.map((l) => l.region))).toEqual(new Set(settings.regions.keys()));
    for (const [region, section] of settings.regions) {
      expect(section.region).toBe(region);
      expect(section.clusterAccess.some((e) => e.access === 'admin')).toBe(true);
    }
  });

  test('has the hosted zone of every sample location\'s host names', () => {
    expect(settings.hostedZones.map((z) => z.domain)).toEqual(['banrimkwae.com', 'banrimkwae.co.uk']);
    for (const location of SAMPLE_LOCATIONS) {
      for (const host of [location.domains.api, location.domains.cdn]) {
        expect(hostedZoneFor(settings, host)?.domain).toBe(host.endsWith('.co.uk') ? 'banrimkwae.co.uk' : 'banrimkwae.com');
      }
    }
  });
});

describe('loadPlatformSettings', () => {
  const resort = SAMPLE_LOCATIONS.find((l) => l.id === 'kanchanaburi-resort')!;

  test('accepts a section for a region without a location', () => {
    const file = tempFile(platformSettingsYaml(['ap-southeast-1', 'eu-west-2', 'us-east-1']));
    expect([...loadPlatformSettings(file, SAMPLE_LOCATIONS).regions.keys()]).toEqual(['ap-southeast-1', 'eu-west-2', 'us-east-1']);
  });

  test('fails when a region with a location has no section, naming the location file', () => {
    const file = tempFile(platformSettingsYaml(['ap-southeast-1', 'eu-west-2']));
    const error = errorOf(() => loadPlatformSettings(file, [...SAMPLE_LOCATIONS, inRegion(resort, 'us-east-1', 'times-square')], { displayRoot: path.dirname(file) }));
    expect(error.message).toBe(
      'Invalid platform settings: platform.yaml: regions.us-east-1 is required: locations/times-square.yaml is in us-east-1; ' +
        'add who reaches its cluster (clusterEndpointAccess) and who may deploy (clusterAccess)',
    );
  });

  test('fails naming every location file of every uncovered region', () => {
    const file = tempFile(platformSettingsYaml(['ap-southeast-1']));
    const locations = [...SAMPLE_LOCATIONS, inRegion(resort, 'eu-west-2', 'camden'), inRegion(resort, 'us-east-1', 'times-square')];
    expect(errorOf(() => loadPlatformSettings(file, locations, { displayRoot: path.dirname(file) })).problems.map((p) => `${p.field} ${p.message}`)).toEqual([
      'regions.eu-west-2 is required: locations/london-shoreditch.json, locations/camden.yaml are in eu-west-2; add who reaches its cluster (clusterEndpointAccess) and who may deploy (clusterAccess)',
      'regions.us-east-1 is required: locations/times-square.yaml is in us-east-1; add who reaches its cluster (clusterEndpointAccess) and who may deploy (clusterAccess)',
    ]);
  });

  test('fails when the file does not exist, saying how to fix it', () => {
    const error = errorOf(() => loadPlatformSettings(path.join(REPO, 'no-such-platform.yaml'), SAMPLE_LOCATIONS, { displayRoot: REPO }));
    expect(error.message).toBe(
      'Invalid platform settings: no-such-platform.yaml: does not exist: create it (README: "Platform settings") or point PLATFORM_SETTINGS at it',
    );
  });

  test('fails with every problem listed, as a SettingsError the entry points report', () => {
    const file = tempFile(platformSettingsYaml(['ap-southeast-1', 'eu-west-2']).replace(/cidrs: \[10\.100\.0\.0\/22\]/g, 'cidrs: [0.0.0.0/0]'));
    const error = errorOf(() => loadPlatformSettings(file, SAMPLE_LOCATIONS, { displayRoot: path.dirname(file) }));
    expect(error).toBeInstanceOf(SettingsError);
    expect(error.message.split('\n')).toEqual([
      'Invalid platform settings (2 problems):',
      '  - platform.yaml: regions.ap-southeast-1.clusterEndpointAccess.cidrs[0] must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges, got "0.0.0.0/0"',
      '  - platform.yaml: regions.eu-west-2.clusterEndpointAccess.cidrs[0] must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges, got "0.0.0.0/0"',
    ]);
  });
});

describe('hostedZoneFor', () => {
  const zones = { hostedZones: [{ domain: 'banrimkwae.com', zoneId: 'Z1' }, { domain: 'eu.banrimkwae.com', zoneId: 'Z2' }] };

  test.each([
    ['banrimkwae.com', 'Z1'],
    ['api.sukhumvit-cafe.banrimkwae.com', 'Z1'],
    ['api.london.eu.banrimkwae.com', 'Z2'],
    ['api.rimkwae.com', undefined],
    ['api.notbanrimkwae.com', undefined],
  ])('finds the zone of %s', (host, zoneId) => {
    expect(hostedZoneFor(zones, host)?.zoneId).toBe(zoneId);
  });
});

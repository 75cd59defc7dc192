/**
 * The platform settings the tests and the synth bench build stacks with: the committed `platform.yaml` (validated against
 * the sample locations, as synth does), or a settings section for a fixture region the file does
 * not cover. One place, so a change to the settings shape changes one helper.
 */
import * as path from 'node:path';
import { loadLocations } from '../../stacks/infra/config/load-locations';
import type { ClusterAccessEntry, PlatformSettings, RegionPlatformSettings } from '../../stacks/infra/config/platform-settings';
import { loadPlatformSettings } from '../../stacks/infra/config/platform-settings-loader';

const REPO_ROOT = path.resolve(__dirname, '../..');
export const SAMPLE_PLATFORM_SETTINGS_FILE = path.join(REPO_ROOT, 'platform.yaml');

let cached: PlatformSettings | undefined;

/** The committed `platform.yaml`, checked against the committed sample locations. */
export function samplePlatformSettings(): PlatformSettings {
  cached ??= loadPlatformSettings(SAMPLE_PLATFORM_SETTINGS_FILE, loadLocations(path.join(REPO_ROOT, 'locations')), { displayRoot: REPO_ROOT });
  return cached;
}

/** The committed section of a region, or a fixture section for a region the file does not cover. */
export function regionSettings(region: string): RegionPlatformSettings {
  return samplePlatformSettings().regions.get(region) ?? regionSettingsFixture(region);
}

/** A valid section for any region: one runner network and one deploy role, or what `changes` say. */
export function regionSettingsFixture(
  region: string,
  changes: { cidrs?: readonly string[]; securityGroupIds?: readonly string[]; clusterAccess?: readonly ClusterAccessEntry[] } = {},
): RegionPlatformSettings {
  return {
    region,
    clusterEndpointAccess: { cidrs: changes.cidrs ?? ['10.100.0.0/22'], securityGroupIds: changes.securityGroupIds ?? [] },
    clusterAccess: changes.clusterAccess ?? [{ principalArn: 'arn:aws:iam::111122223333:role/platform-deploy', access: 'admin' }],
  };
}

/**
 * Settings text for generated locations (benches, synth tests): the committed state backend and
 * hosted zones, and a fixture section for each of `regions`.
 */
export function platformSettingsYaml(regions: readonly string[]): string {
  const { stateBackend, hostedZones } = samplePlatformSettings();
  const lines = [
    `stateBackend: { bucket: ${stateBackend.bucket}, region: ${stateBackend.region}, keyPrefix: ${stateBackend.keyPrefix} }`,
    'hostedZones:',
    ...hostedZones.map((z) => `  - { domain: ${z.domain}, zoneId: ${z.zoneId} }`),
    'regions:',
    ...[...new Set(regions)].flatMap((region) => {
      const { clusterEndpointAccess, clusterAccess } = regionSettingsFixture(region);
      return [
        `  ${region}:`,
        `    clusterEndpointAccess: { cidrs: [${clusterEndpointAccess.cidrs.join(', ')}] }`,
        '    clusterAccess:',
        ...clusterAccess.map((e) => `      - { principalArn: "${e.principalArn}", access: ${e.access} }`),
      ];
    }),
  ];
  return `${lines.join('\n')}\n`;
}

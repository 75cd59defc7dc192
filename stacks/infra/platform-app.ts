/**
 * Builds every stack of the platform from the validated locations: one platform and one addons
 * stack per region, one data and one app stack per location. Stack ids are a contract (they name
 * state files): `platform-<region>`, `addons-<region>`, `<location>-data`, `<location>-app`.
 * Deploy order (cdktf follows it): platform, data, addons, app.
 */
import type { Construct } from 'constructs';
import type { BackendConfig } from './backend';
import type { Location } from './config/location';
import { locationsByRegion } from './config/load-locations';
import { hostedZoneFor, type PlatformSettings } from './config/platform-settings';
import type { WebClientBuild } from './config/web-client-build';
import { AddonsStack } from './stack-kinds/addons-stack';
import { LocationAppStack } from './stack-kinds/location-app-stack';
import { LocationDataStack } from './stack-kinds/location-data-stack';
import { PlatformStack } from './stack-kinds/platform-stack';

export interface PlatformAppOptions {
  readonly locations: readonly Location[];
  readonly backend: BackendConfig;
  /** Release tag of the api and ws images in ECR (immutable tags). */
  readonly imageTag: string;
  /**
   * The validated platform settings (`platform.yaml`); every region of `locations` has a section
   * (loadPlatformSettings checks it against the same locations).
   */
  readonly settings: PlatformSettings;
  /** The guest and kitchen web client each location's data stack publishes (loadWebClientBuild). */
  readonly webClient: WebClientBuild;
}

export interface LocationStacks {
  readonly location: Location;
  readonly data: LocationDataStack;
  readonly app: LocationAppStack;
}

export interface BuiltPlatform {
  readonly platforms: ReadonlyMap<string, PlatformStack>;
  readonly addons: ReadonlyMap<string, AddonsStack>;
  readonly locations: ReadonlyMap<string, LocationStacks>;
}

export function buildPlatformApp(scope: Construct, options: PlatformAppOptions): BuiltPlatform {
  const platforms = new Map<string, PlatformStack>();
  const addons = new Map<string, AddonsStack>();
  const locations = new Map<string, LocationStacks>();

  for (const [region, regionLocations] of locationsByRegion(options.locations)) {
    const settings = options.settings.regions.get(region);
    if (!settings) {
      throw new Error(`settings.regions must have a section for ${region} (the region of ${regionLocations.map((l) => l.id).join(', ')}), got none (${options.settings.sourceFile})`);
    }
    // Zones of the region's API names: ExternalDNS (role in platform, release in addons) keeps
    // each name pointed at its location's NLB. Certificates and CDN names are the data stacks'.
    const apiZoneOf = (location: Location) => hostedZoneFor(options.settings, location.domains.api);
    const apiHostedZones = [...new Map(regionLocations.flatMap((l) => apiZoneOf(l) ?? []).map((zone) => [zone.zoneId, zone])).values()];
    const platform = new PlatformStack(scope, `platform-${region}`, {
      region,
      locations: regionLocations,
      backend: options.backend,
      settings,
      apiHostedZones,
    });
    platforms.set(region, platform);
    const regionAddons = new AddonsStack(scope, `addons-${region}`, {
      region,
      platform,
      controllerRoles: platform.controllerRoles,
      locations: regionLocations,
      kubernetesVersion: platform.cluster.kubernetesVersion,
      backend: options.backend,
      apiHostedZones,
    });
    addons.set(region, regionAddons);

    for (const location of regionLocations) {
      const data = new LocationDataStack(scope, `${location.id}-data`, {
        location,
        platform,
        backend: options.backend,
        hostedZones: { api: apiZoneOf(location), cdn: hostedZoneFor(options.settings, location.domains.cdn) },
        webClient: options.webClient,
      });
      const app = new LocationAppStack(scope, `${location.id}-app`, {
        location,
        platform,
        data,
        backend: options.backend,
        imageTag: options.imageTag,
        apiNameInHostedZone: apiZoneOf(location) !== undefined,
      });
      // The nginx Service needs the AWS Load Balancer Controller (addons) to get its NLB, and only
      // the controller can delete that NLB again: deploy addons first, destroy the app first.
      app.addDependency(regionAddons);
      locations.set(location.id, { location, data, app });
    }
  }
  return { platforms, addons, locations };
}

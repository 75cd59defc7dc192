import {
  CLUSTER_ADDON_REQUESTS,
  MAX_NODES,
  NGINX_POD_REQUESTS,
  NODE_INSTANCE_TYPES,
  nodesFor,
  regionNodeSizing,
} from '../../../stacks/config/region-sizing';
import { locationFixture, locationsOf, sampleLocation } from './fixtures';

describe('regionNodeSizing', () => {
  describe('defaults', () => {
    test('sizes ap-southeast-1 from both sample locations at their HPA bounds', () => {
      expect(regionNodeSizing(locationsOf('ap-southeast-1'))).toEqual({
        instanceTypes: [...NODE_INSTANCE_TYPES],
        minSize: 3,
        desiredSize: 3,
        maxSize: 5,
        // kanchanaburi (api 3..16 x 500m, ws 2..6 x 250m, 3 nginx) + sukhumvit (api 2..4 x 250m,
        // ws 2..3 x 100m, 2 nginx) + cluster add-ons
        baselineDemand: { cpuMillicores: 5470, memoryMiB: 10144, pods: 34 },
        peakDemand: { cpuMillicores: 13570, memoryMiB: 18528, pods: 54 },
        zoneCount: 3,
      });
    });

    test('sizes eu-west-2 from its one medium location', () => {
      const sizing = regionNodeSizing(locationsOf('eu-west-2'));
      expect(sizing).toMatchObject({ minSize: 3, desiredSize: 3, maxSize: 4, zoneCount: 3 });
      expect(sizing.peakDemand.cpuMillicores).toBe(8 * 500 + 4 * 200 + 2 * NGINX_POD_REQUESTS.cpuMillicores + CLUSTER_ADDON_REQUESTS.cpuMillicores);
    });
  });

  describe('behaviour', () => {
    test('keeps at least one node per zone the locations use', () => {
      const cafe = sampleLocation('sukhumvit-cafe');
      expect(regionNodeSizing([cafe]).minSize).toBe(2);
      const threeZones = locationFixture(cafe, { availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'] });
      expect(regionNodeSizing([threeZones]).minSize).toBe(3);
    });

    test('raises the minimum above the zone count when baseline pods need more nodes', () => {
      const busy = locationFixture(sampleLocation('sukhumvit-cafe'), { api: { minReplicas: 20, maxReplicas: 20, cpuRequestMillicores: 1000 } });
      const sizing = regionNodeSizing([busy]);
      // 20 x 1000m + 2 x 100m ws + 2 x 110m nginx + 2000m add-ons = 22420m over 2936m usable per node
      expect(sizing.minSize).toBe(8);
      expect(sizing.desiredSize).toBe(8);
      expect(sizing.maxSize).toBe(9);
    });

    test('grows the maximum with the locations\' peak', () => {
      const base = regionNodeSizing(locationsOf('ap-southeast-1')).maxSize;
      const bigger = locationFixture(sampleLocation('kanchanaburi-resort'), { api: { maxReplicas: 40 } });
      const grown = regionNodeSizing([bigger, sampleLocation('sukhumvit-cafe')]).maxSize;
      expect(grown).toBeGreaterThan(base);
    });

    test.each([
      ['CPU', { cpuMillicores: 2937, memoryMiB: 0, pods: 0 }, 2],
      ['CPU at the edge', { cpuMillicores: 2936, memoryMiB: 0, pods: 0 }, 1],
      ['memory', { cpuMillicores: 0, memoryMiB: 11431, pods: 0 }, 2],
      ['pod slots', { cpuMillicores: 0, memoryMiB: 0, pods: 44 }, 2],
    ])('nodesFor counts the scarcest resource (%s)', (_name, demand, nodes) => {
      expect(nodesFor(demand)).toBe(nodes);
    });
  });

  describe('errors', () => {
    test('fails when no location is given', () => {
      expect(() => regionNodeSizing([])).toThrow('regionNodeSizing needs at least one location, got none');
    });

    test('fails when locations span regions', () => {
      expect(() => regionNodeSizing([sampleLocation('sukhumvit-cafe'), sampleLocation('london-shoreditch')])).toThrow(
        'regionNodeSizing needs locations of one region, got "eu-west-2" (location "london-shoreditch") besides "ap-southeast-1" (location "sukhumvit-cafe")',
      );
    });

    test(`fails when the peak needs more than ${MAX_NODES} nodes`, () => {
      const huge = locationFixture(sampleLocation('sukhumvit-cafe'), { api: { maxReplicas: 100, cpuRequestMillicores: 8000, cpuLimitMillicores: 8000 } });
      expect(() => regionNodeSizing([huge])).toThrow(
        'node group of region "ap-southeast-1" would need 274 nodes of m6i.xlarge at peak, more than the 100 allowed (locations: sukhumvit-cafe); ' +
          "lower the locations' maxReplicas or requests, or move the region to a larger instance type",
      );
    });
  });
});

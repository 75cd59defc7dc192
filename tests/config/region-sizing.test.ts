import {
  CLUSTER_ADDON_REQUESTS,
  MAX_NODES,
  NGINX_POD_REQUESTS,
  NODE_INSTANCE_TYPES,
  nodesFor,
  regionNodeSizing,
} from '../../stacks/infra/config/region-sizing';
import { locationFixture } from '../support/stacks/platform-fixtures';
import { locationsOf, sampleLocation } from '../support/stacks/sample-locations';

describe('regionNodeSizing', () => {
  describe('defaults', () => {
    test('sizes ap-southeast-1 from both sample locations at their HPA bounds, one node group per zone', () => {
      expect(regionNodeSizing(locationsOf('ap-southeast-1'))).toEqual({
        zones: ['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'],
        // baseline 2 nodes over 3 zones: one each; peak 5 nodes on the 2 zones left after one fails: 3 each.
        perZone: { instanceTypes: [...NODE_INSTANCE_TYPES], minSize: 1, desiredSize: 1, maxSize: 3 },
        baselineNodes: 2,
        peakNodes: 5,
        // kanchanaburi (api 3..16 x 500m, ws 2..6 x 250m, 3 nginx) + sukhumvit (api 2..4 x 250m,
        // ws 2..3 x 100m, 2 nginx) + cluster add-ons
        baselineDemand: { cpuMillicores: 5470, memoryMiB: 10144, pods: 34 },
        peakDemand: { cpuMillicores: 13570, memoryMiB: 18528, pods: 54 },
      });
    });

    test('sizes eu-west-2 from its one medium location', () => {
      const sizing = regionNodeSizing(locationsOf('eu-west-2'));
      expect(sizing).toMatchObject({ zones: ['eu-west-2a', 'eu-west-2b', 'eu-west-2c'], baselineNodes: 2, peakNodes: 3 });
      expect(sizing.perZone).toMatchObject({ minSize: 1, desiredSize: 1, maxSize: 2 });
      expect(sizing.peakDemand.cpuMillicores).toBe(8 * 500 + 4 * 200 + 2 * NGINX_POD_REQUESTS.cpuMillicores + CLUSTER_ADDON_REQUESTS.cpuMillicores);
    });
  });

  describe('behaviour', () => {
    test('keeps at least one node in every zone the locations use, and two in the region', () => {
      const cafe = sampleLocation('sukhumvit-cafe');
      expect(regionNodeSizing([cafe])).toMatchObject({ zones: ['ap-southeast-1a', 'ap-southeast-1b'], perZone: { minSize: 1 }, baselineNodes: 2 });
      const threeZones = locationFixture(cafe, { availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'] });
      expect(regionNodeSizing([threeZones]).perZone.minSize).toBe(1);
      // A region of one zone (no location file allows it; the function does not assume it) still gets two nodes.
      expect(regionNodeSizing([locationFixture(cafe, { availabilityZones: ['ap-southeast-1a'] })]).perZone).toMatchObject({ minSize: 2, maxSize: 3 });
    });

    test('spreads a baseline that needs more nodes than zones over the zones, rounding up', () => {
      const busy = locationFixture(sampleLocation('sukhumvit-cafe'), { api: { minReplicas: 20, maxReplicas: 20, cpuRequestMillicores: 1000 } });
      const sizing = regionNodeSizing([busy]);
      // 20 x 1000m + 2 x 100m ws + 2 x 110m nginx + 2220m add-ons = 22640m over 2936m usable per node: 8 nodes, 4 per zone.
      expect(sizing.baselineNodes).toBe(8);
      expect(sizing.peakNodes).toBe(9);
      expect(sizing.perZone).toMatchObject({ minSize: 4, desiredSize: 4 });
    });

    test.each([
      // [zones, peak nodes the region needs, each zone's max]: the zones left after one fails hold the peak.
      [['ap-southeast-1a', 'ap-southeast-1b'], 10, 10],
      [['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'], 10, 5],
    ])('each zone\'s maximum holds the region\'s peak on the other zones when one fails (%j)', (zones, peakNodes, maxSize) => {
      // At peak 10 x 2636m api + 3 x 100m ws + 2 x 110m nginx + 2220m add-ons = 29100m: 10 nodes of 2936m usable.
      const location = locationFixture(sampleLocation('sukhumvit-cafe'), {
        availabilityZones: zones,
        api: { minReplicas: 1, maxReplicas: 10, cpuRequestMillicores: 2636, cpuLimitMillicores: 2636 },
      });
      const sizing = regionNodeSizing([location]);
      expect(sizing.peakNodes).toBe(peakNodes);
      expect(sizing.perZone.maxSize).toBe(maxSize);
      expect(sizing.perZone.maxSize * (zones.length - 1)).toBeGreaterThanOrEqual(sizing.peakNodes);
    });

    test('grows the maximum with the locations\' peak', () => {
      const base = regionNodeSizing(locationsOf('ap-southeast-1')).perZone.maxSize;
      const bigger = locationFixture(sampleLocation('kanchanaburi-resort'), { api: { maxReplicas: 40 } });
      const grown = regionNodeSizing([bigger, sampleLocation('sukhumvit-cafe')]).perZone.maxSize;
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
        'node groups of region "ap-southeast-1" would need 274 nodes of m6i.xlarge at peak, more than the 100 allowed (locations: sukhumvit-cafe); ' +
          "lower the locations' maxReplicas or requests, or move the region to a larger instance type",
      );
    });
  });
});

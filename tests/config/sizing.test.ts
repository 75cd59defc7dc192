import { parseLocationText } from '../../stacks/infra/config/load-locations';
import type { Location } from '../../stacks/infra/config/location';
import { ordersPerMinutePerPodAtTarget } from '../../stacks/checks/capacity/api-pod-capacity';
import { loadMeasuredCapacity } from '../../stacks/checks/capacity/measured-capacity';
import { deriveSizing, tierForPeakOrders, TIER_PROFILES } from '../../stacks/infra/config/sizing';

describe('tierForPeakOrders', () => {
  test.each([
    [1, 'small'], [40, 'small'], [41, 'medium'], [150, 'medium'], [151, 'large'], [5000, 'large'],
  ] as const)('%d orders/min is %s', (peak, tier) => {
    expect(tierForPeakOrders(peak)).toBe(tier);
  });
});

describe('deriveSizing', () => {
  test('the tier profile is the floor', () => {
    expect(deriveSizing({ tier: 'small', seats: 10, peakOrdersPerMinute: 5 })).toEqual(TIER_PROFILES.small);
  });

  // 6 creates at 700/CPU-s and 34 cached reads at 1,750/CPU-s: 0.028 CPU-s an order, so a large
  // tier pod at the HPA target (70 % of its 500 m request) serves 750 orders/min.
  const measured = { ...loadMeasuredCapacity(), api: { orderCreatesPerCpuSecond: 700, cachedReadsPerCpuSecond: 1750 } };
  const large = { tier: 'large', seats: 100, peakOrdersPerMinute: 6000 } as const;

  test('api max replicas grow with peak orders: 2x headroom over what a pod serves at the HPA target, at the measured cost of an order', () => {
    expect(ordersPerMinutePerPodAtTarget(TIER_PROFILES.large.api, measured.api)).toBeCloseTo(750, 9);
    expect(deriveSizing(large, measured).api.maxReplicas).toBe(16);
  });

  test.each([
    ['twice as cheap (both rates doubled)', 16, 2],
    ['as measured', 32, 1],
    ['twice as dear (both rates halved)', 64, 0.5],
  ])('an order %s: a large location at 12,000 orders/min is sized at %i api pods', (_what, pods, factor) => {
    const api = { orderCreatesPerCpuSecond: 700 * factor, cachedReadsPerCpuSecond: 1750 * factor };
    expect(deriveSizing({ ...large, peakOrdersPerMinute: 12_000 }, { ...measured, api }).api.maxReplicas).toBe(pods);
  });

  test('without figures given, the committed measurements size the location', () => {
    const busy = { ...large, peakOrdersPerMinute: 60_000 };
    expect(deriveSizing(busy)).toEqual(deriveSizing(busy, loadMeasuredCapacity()));
    const perPod = ordersPerMinutePerPodAtTarget(TIER_PROFILES.large.api, loadMeasuredCapacity().api);
    expect(deriveSizing(busy).api.maxReplicas).toBe(Math.max(TIER_PROFILES.large.api.maxReplicas, Math.ceil((60_000 * 2) / perPod)));
  });

  test('ws max replicas grow with seats (0.6 devices per seat, 2x headroom, 1500 per pod)', () => {
    expect(deriveSizing({ tier: 'medium', seats: 10000, peakOrdersPerMinute: 100 }).ws.maxReplicas).toBe(8);
  });

  test.each([
    [151, 2], [449, 2], [450, 3], [750, 4], [5000, 5],
  ])('a large location at %d orders/min gets %d read replicas (capped at 5)', (peak, replicas) => {
    expect(deriveSizing({ tier: 'large', seats: 100, peakOrdersPerMinute: peak }).database.readReplicas).toBe(replicas);
  });

  test('a small tier chosen explicitly keeps no replica even at high load', () => {
    expect(deriveSizing({ tier: 'small', seats: 100, peakOrdersPerMinute: 900 }).database.readReplicas).toBe(0);
  });
});

describe('overrides', () => {
  const base = `id: test-cafe
displayName: Test Cafe
region: ap-southeast-1
availabilityZones: [ap-southeast-1a, ap-southeast-1b]
business: {seats: 30, peakOrdersPerMinute: 20}
domains: {api: api.test.example.com, cdn: cdn.test.example.com}
tags: {cost-center: cc-1, owner: platform-team}
alertEmail: ops@example.com
`;
  const parse = (text: string): Location => {
    const result = parseLocationText('locations/test-cafe.yaml', text);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.location;
  };

  test('replace only the values they name', () => {
    const location = parse(base + 'overrides: {database: {readReplicas: 1}, api: {maxReplicas: 9}}\n');
    expect(location.sizing.database).toEqual({ ...TIER_PROFILES.small.database, readReplicas: 1 });
    expect(location.sizing.api).toEqual({ ...TIER_PROFILES.small.api, maxReplicas: 9 });
    expect(location.sizing.redis).toEqual(TIER_PROFILES.small.redis);
  });

  test('an explicit tier wins over the derived one', () => {
    expect(parse(base.replace('business: {', 'business: {tier: large, ')).business.tier).toBe('large');
  });

  test('the password version defaults to 1', () => {
    expect(parse(base).databasePasswordVersion).toBe(1);
  });

  test('restarting changes wait for the maintenance window unless the file says immediately, per service', () => {
    expect(parse(base).applyChanges).toEqual({ database: 'maintenance-window', redis: 'maintenance-window' });
    expect(parse(base + 'applyChanges: {redis: immediately}\n').applyChanges).toEqual({ database: 'maintenance-window', redis: 'immediately' });
    expect(parse(base + 'applyChanges: {database: immediately, redis: maintenance-window}\n').applyChanges).toEqual({ database: 'immediately', redis: 'maintenance-window' });
  });
});

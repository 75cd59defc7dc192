import { parseLocationText } from '../../stacks/infra/config/load-locations';
import type { Location } from '../../stacks/infra/config/location';
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

  test('api max replicas grow with peak orders (2x headroom, 600 orders/min per pod)', () => {
    expect(deriveSizing({ tier: 'large', seats: 100, peakOrdersPerMinute: 6000 }).api.maxReplicas).toBe(20);
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

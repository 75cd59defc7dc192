import { estimateMonthlyCost } from '../../stacks/checks/cost/cost-estimate';
import { resourcesFromSynth } from '../../stacks/checks/policy/policy-resources';
import type { PolicyResource } from '../../stacks/checks/policy/policy-types';
import { synthPlatform } from '../../tools/synth/synth-platform';

const { stacks } = synthPlatform();
const resourcesOf = (id: string) => resourcesFromSynth(stacks.get(id)! as never);
const line = (estimate: ReturnType<typeof estimateMonthlyCost>, prefix: string) => estimate.lines.filter((l) => l.item.startsWith(prefix));

describe('estimateMonthlyCost', () => {
  test('prices the cafe database, its storage and Redis from the planned sizes', () => {
    const estimate = estimateMonthlyCost(resourcesOf('sukhumvit-cafe-data'), 'ap-southeast-1');
    // db.t4g.medium at $0.08/h, Multi-AZ doubles it: 0.08 * 2 * 730.
    expect(line(estimate, 'RDS db.t4g.medium Multi-AZ').map((l) => l.monthlyUsd)).toEqual([116.8]);
    // 50 GiB gp3 at $0.138 per GiB-month, twice for the standby.
    expect(line(estimate, 'RDS storage 50 GiB').map((l) => l.monthlyUsd)).toEqual([13.8]);
    expect(line(estimate, 'ElastiCache 2 x cache.t4g.small').map((l) => l.monthlyUsd)).toEqual([58.4]);
    expect(estimate.unpriced).toEqual([]);
  });

  test('counts every read replica of the resort', () => {
    const estimate = estimateMonthlyCost(resourcesOf('kanchanaburi-resort-data'), 'ap-southeast-1');
    expect(line(estimate, 'RDS db.r6g.xlarge (')).toHaveLength(4);
    expect(line(estimate, 'RDS db.r6g.xlarge Multi-AZ')).toHaveLength(1);
  });

  test('the total is the sum of the lines', () => {
    const estimate = estimateMonthlyCost(resourcesOf('london-shoreditch-data'), 'eu-west-2');
    const sum = Math.round(estimate.lines.reduce((s, l) => s + l.monthlyUsd, 0) * 100) / 100;
    expect(estimate.monthlyUsd).toBe(sum);
    expect(estimate.monthlyUsd).toBeGreaterThan(0);
  });

  test('an app stack pays for its network load balancer', () => {
    expect(line(estimateMonthlyCost(resourcesOf('sukhumvit-cafe-app'), 'ap-southeast-1'), 'Network Load Balancer')).toHaveLength(1);
  });

  test('reports what the price table lacks instead of guessing', () => {
    const resources: PolicyResource[] = [
      { address: 'aws_db_instance.x', type: 'aws_db_instance', values: { instance_class: 'db.x2g.large', multi_az: true, allocated_storage: 10 }, unknown: new Set() },
    ];
    expect(estimateMonthlyCost(resources, 'ap-southeast-7')).toEqual({
      monthlyUsd: 0,
      lines: [],
      unpriced: ['RDS db.x2g.large in ap-southeast-7', 'RDS gp3 storage in ap-southeast-7'],
    });
  });
});

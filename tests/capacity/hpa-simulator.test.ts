/** The HPA simulation follows the controller's rules: target tracking, policies, window, bounds. */
import { simulateHpa, type HpaSpec } from '../../stacks/checks/capacity/hpa-simulator';
import { HPA_BEHAVIOUR } from '../../stacks/infra/constructs/http-workload';

// One pod serves 1 order/min per millicore: at the 70 % target of 1000 m, 700 orders/min.
const HPA: HpaSpec = {
  minReplicas: 2,
  maxReplicas: 20,
  cpuRequestMillicores: 1000,
  usableMillicores: 1000,
  cpuTargetUtilizationPercent: 70,
  scaleDownStabilizationSeconds: 300,
  scaleUp: HPA_BEHAVIOUR.scaleUp,
  scaleDown: HPA_BEHAVIOUR.scaleDown,
};
const run = (demandAt: (second: number) => number, hpa: Partial<HpaSpec> = {}, durationSeconds = 1800) =>
  simulateHpa({ hpa: { ...HPA, ...hpa }, ordersPerMinutePerMillicore: 1, demandAt, durationSeconds });

test('steady demand settles where utilization meets the target', () => {
  const steps = run(() => 7000);
  const last = steps[steps.length - 1]!;
  // 7000 / 700 per pod = 10 pods at exactly 70 %.
  expect(last.replicas).toBe(10);
  expect(last.readyReplicas).toBe(10);
  expect(last.cpuUtilizationPercent).toBeCloseTo(70, 5);
  expect(last.unservedOrdersPerMinute).toBe(0);
});

test('inside the 10 % tolerance nothing moves', () => {
  // 2 pods at 1500 orders/min: 75 % utilization, ratio 1.07.
  const steps = run(() => 1500);
  expect(new Set(steps.map((s) => s.replicas))).toEqual(new Set([2]));
});

test('a saturated pod reports at most limit / request utilization, so growth per step is bounded by it', () => {
  // Request = limit: a saturated pod shows 100 % against a 70 % target, ratio 1.43.
  // Only ready pods are measured, so the next step waits for the new pod's startup.
  const steps = run(() => 100_000, {}, 60);
  expect(steps.map((s) => `${s.replicas}/${s.readyReplicas}`)).toEqual(['2/2', '3/2', '3/3', '5/3', '5/5']);
});

test('scale-up per 15 s period is capped by the larger of +100 % and +4 pods', () => {
  // A request of a quarter of the limit lets utilization reach 400 %: the policies are the cap.
  const steps = run(() => 100_000, { cpuRequestMillicores: 250 }, 120);
  const replicas = steps.map((s) => s.replicas);
  // 2 -> 6 (+4 beats +100 %), 6 -> 12 (+100 %), 12 -> 20 (max).
  expect(replicas.slice(0, 4)).toEqual([2, 6, 12, 20]);
});

test('new pods serve only after their startup time', () => {
  const steps = run(() => 100_000, { cpuRequestMillicores: 250 }, 120);
  // Decided at 0 s, added at 15 s, ready 30 s after the decision.
  expect(steps[1]).toMatchObject({ second: 15, replicas: 6, readyReplicas: 2 });
  expect(steps[2]).toMatchObject({ second: 30, replicas: 12, readyReplicas: 6 });
  expect(steps[3]).toMatchObject({ second: 45, replicas: 20, readyReplicas: 12 });
});

test('demand beyond max replicas at full CPU is reported as unserved', () => {
  const steps = run(() => 30_000, { maxReplicas: 10 });
  const last = steps[steps.length - 1]!;
  expect(last.replicas).toBe(10);
  expect(last.capacityOrdersPerMinute).toBe(10_000);
  expect(last.unservedOrdersPerMinute).toBe(20_000);
});

test('scale-down waits out the stabilization window, then removes at most a quarter per minute', () => {
  // 10 pods worth of demand for 10 minutes, then almost nothing.
  const steps = run((second) => (second < 600 ? 7000 : 10), {}, 1800);
  const at = (second: number) => steps.find((s) => s.second === second)!.replicas;
  expect(at(585)).toBe(10);
  // Inside the 300 s window after the drop, the old recommendation of 10 still wins.
  expect(at(600 + 285)).toBe(10);
  const after = steps.filter((s) => s.second >= 600 + 300);
  expect(after[0]!.replicas).toBeLessThan(10);
  for (const step of after) {
    const minuteLater = after.find((s) => s.second === step.second + 60);
    if (minuteLater) expect(minuteLater.replicas).toBeGreaterThanOrEqual(Math.floor(step.replicas * 0.75));
  }
  // 10 -> 7 -> 5 -> 3 -> 2, a minute apart.
  expect([...new Set(after.map((s) => s.replicas))]).toEqual([7, 5, 3, 2]);
});

test('never below min, never above max', () => {
  const steps = run((second) => (second % 600 < 300 ? 50_000 : 0), { minReplicas: 3, maxReplicas: 7 }, 3600);
  for (const s of steps) {
    expect(s.replicas).toBeGreaterThanOrEqual(3);
    expect(s.replicas).toBeLessThanOrEqual(7);
  }
  expect(steps.some((s) => s.replicas === 7)).toBe(true);
});

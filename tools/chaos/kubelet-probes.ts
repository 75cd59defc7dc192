/**
 * Readiness probing as the kubelet does it, for the fault drills: the probe settings come from the
 * synthesized app stack (what Kubernetes would run), and each api and ws process of the local
 * platform is probed on that schedule. A process turns NotReady after `failureThreshold`
 * consecutive failed probes (no answer within `timeoutSeconds`, or a status outside 200-399) and
 * Ready again after `successThreshold` successes; in a cluster, a NotReady pod leaves its Service,
 * and when every api pod has left, nginx's `resolve` finds no peer and the location answers 502.
 *
 * Alongside each readiness probe, an api also gets a cached menu read on its own port: "ready"
 * must mean "serving", and this shows every api serves, not only the ones nginx happened to pick.
 */
import * as fs from 'node:fs';
import { synthPlatform, type StackJson } from '../synth/synth-platform';
import type { LocalPlatform, ManagedProcess } from '../local/platform';

/** An HTTP probe of a container, as the app stack ships it (Kubernetes defaults filled in). */
export interface HttpProbeSpec {
  readonly path: string;
  /** The container port's name (`http`, ...) or number, as in the pod spec. */
  readonly port: string | number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

export type ProbedRole = 'api' | 'ws';

let synthesized: Readonly<Record<ProbedRole, HttpProbeSpec>> | undefined;

/**
 * The readiness probes of the api and ws Deployments in the first location's app stack, read from
 * `synthPlatform()` (synthesized once per process).
 */
export function appStackReadinessProbes(): Readonly<Record<ProbedRole, HttpProbeSpec>> {
  if (synthesized) return synthesized;
  const { stacks, outdir } = synthPlatform();
  fs.rmSync(outdir, { recursive: true, force: true });
  const appStack = [...stacks.entries()].find(([id]) => id.endsWith('-app'));
  if (!appStack) throw new Error(`no <location>-app stack among ${[...stacks.keys()].join(', ')}`);
  const probeOf = (role: ProbedRole): HttpProbeSpec => {
    const deployments = Object.values((appStack[1].resource?.kubernetes_deployment_v1 ?? {}) as Record<string, StackJson>);
    const deployment = deployments.find((d) => d.metadata?.name === role);
    const probe = deployment?.spec?.template?.spec?.container?.[0]?.readiness_probe;
    if (!probe?.http_get) throw new Error(`${appStack[0]}: the ${role} Deployment has no HTTP readiness probe`);
    return {
      path: String(probe.http_get.path),
      port: probe.http_get.port,
      // Kubernetes' defaults for what the stack leaves out.
      periodSeconds: probe.period_seconds ?? 10,
      timeoutSeconds: probe.timeout_seconds ?? 1,
      failureThreshold: probe.failure_threshold ?? 3,
      successThreshold: probe.success_threshold ?? 1,
    };
  };
  synthesized = { api: probeOf('api'), ws: probeOf('ws') };
  return synthesized;
}

/**
 * Where a probe of `port` reaches `process` on loopback: the app stack names container ports, and
 * the local platform serves each named port on a loopback port of its own (`process.ports`).
 */
export function probeBaseUrl(process: ManagedProcess, port: string | number): string {
  const number = typeof port === 'number' ? port : (process.ports as Readonly<Record<string, number>>)[port];
  if (number === undefined) {
    throw new Error(`the app stack probes ${process.role} on port "${port}", which tools/local/platform.ts does not expose (it has ${Object.keys(process.ports).join(', ')})`);
  }
  return `http://127.0.0.1:${number}`;
}

export interface ReadinessTransition {
  readonly at: number;
  readonly ready: boolean;
  /** The failed probes' outcome that made it NotReady (`503`, `timeout`, `refused`), or `ok`. */
  readonly cause: string;
}

export interface ProbeTarget {
  readonly role: ProbedRole;
  readonly index: number;
  readonly probes: number;
  readonly failedProbes: number;
  readonly transitions: readonly ReadinessTransition[];
  /** Cached menu reads on the process's own port (api only). */
  readonly servingChecks: number;
  readonly failedServingChecks: readonly string[];
}

export interface ReadinessReport {
  readonly probe: Readonly<Record<ProbedRole, HttpProbeSpec>>;
  readonly targets: readonly ProbeTarget[];
}

interface TargetState {
  readonly role: ProbedRole;
  readonly index: number;
  readonly process: ManagedProcess;
  readonly spec: HttpProbeSpec;
  ready: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  readonly probeTimes: number[];
  failedProbes: number;
  readonly transitions: ReadinessTransition[];
  servingChecks: number;
  readonly failedServingChecks: string[];
}

/**
 * Probes every api and ws process of `platform` on the app stack's schedule until `stop()`. Each
 * target starts Ready (the platform waited for every process to be ready) and is probed at its
 * period; a probe that outlives its timeout counts as failed, and the next one starts a period
 * after the previous one began, as the kubelet's probe worker does.
 */
export class KubeletReadinessProber {
  private readonly states: TargetState[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborts = new Set<AbortController>();
  private stopped = false;

  constructor(
    private readonly platform: LocalPlatform,
    private readonly probes: Readonly<Record<ProbedRole, HttpProbeSpec>>,
    /** A guest token per restaurant id for the api serving checks. */
    private readonly menuToken: (restaurantId: string) => Promise<string>,
  ) {
    const state = (process: ManagedProcess): TargetState => ({
      role: process.role,
      index: process.index,
      process,
      spec: probes[process.role],
      ready: true,
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      probeTimes: [],
      failedProbes: 0,
      transitions: [],
      servingChecks: 0,
      failedServingChecks: [],
    });
    this.states = [...platform.apis.map(state), ...platform.wss.map(state)];
  }

  start(): void {
    for (const state of this.states) this.schedule(state, 0);
  }

  private schedule(state: TargetState, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const began = Date.now();
      const work = this.probeOnce(state).finally(() => {
        this.inFlight.delete(work);
        this.schedule(state, Math.max(0, began + state.spec.periodSeconds * 1000 - Date.now()));
      });
      this.inFlight.add(work);
    }, delayMs);
    this.timers.add(timer);
  }

  private async request(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<string> {
    const abort = new AbortController();
    this.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const response = await fetch(url, { headers, signal: abort.signal });
      await response.arrayBuffer();
      return response.status >= 200 && response.status < 400 ? 'ok' : String(response.status);
    } catch (error) {
      return abort.signal.aborted ? 'timeout' : ((error as Error & { cause?: { code?: string } }).cause?.code ?? 'failed').toLowerCase();
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
  }

  private async probeOnce(state: TargetState): Promise<void> {
    const { spec } = state;
    const at = Date.now();
    const [outcome] = await Promise.all([
      this.request(`${probeBaseUrl(state.process, spec.port)}${spec.path}`, spec.timeoutSeconds * 1000),
      state.role === 'api' ? this.serve(state) : undefined,
    ]);
    if (this.stopped) return;
    state.probeTimes.push(at);
    if (outcome === 'ok') {
      state.consecutiveFailures = 0;
      state.consecutiveSuccesses += 1;
      if (!state.ready && state.consecutiveSuccesses >= spec.successThreshold) {
        state.ready = true;
        state.transitions.push({ at: Date.now(), ready: true, cause: outcome });
      }
    } else {
      state.failedProbes += 1;
      state.consecutiveSuccesses = 0;
      state.consecutiveFailures += 1;
      if (state.ready && state.consecutiveFailures >= spec.failureThreshold) {
        state.ready = false;
        state.transitions.push({ at: Date.now(), ready: false, cause: outcome });
      }
    }
  }

  /** A cached menu read on the api's own port, with the probe's timeout. */
  private async serve(state: TargetState): Promise<void> {
    const restaurant = this.platform.restaurants[state.probeTimes.length % this.platform.restaurants.length]!;
    const token = await this.menuToken(restaurant.id);
    const outcome = await this.request(`${state.process.url}/v1/restaurants/${restaurant.id}/menu`, state.spec.timeoutSeconds * 1000, {
      authorization: `Bearer ${token}`,
    });
    if (this.stopped) return;
    state.servingChecks += 1;
    if (outcome !== 'ok') state.failedServingChecks.push(`${new Date().toISOString()} ${outcome}`);
  }

  /** Probes of `role` `index` that began at or after `t`. */
  probesSince(role: ProbedRole, index: number, t: number): number {
    const state = this.states.find((s) => s.role === role && s.index === index);
    return state ? state.probeTimes.filter((p) => p >= t).length : 0;
  }

  /** True once every process of `role` has been probed `count` times since `t`. */
  everyProbedSince(role: ProbedRole, t: number, count: number): boolean {
    return this.states.filter((s) => s.role === role).every((s) => this.probesSince(role, s.index, t) >= count);
  }

  /** Stops probing; a probe in flight is aborted. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const abort of this.aborts) abort.abort();
    await Promise.all([...this.inFlight]);
  }

  report(): ReadinessReport {
    return {
      probe: this.probes,
      targets: this.states.map((s) => ({
        role: s.role,
        index: s.index,
        probes: s.probeTimes.length,
        failedProbes: s.failedProbes,
        transitions: [...s.transitions],
        servingChecks: s.servingChecks,
        failedServingChecks: [...s.failedServingChecks],
      })),
    };
  }
}

/**
 * How long every process of `role` was NotReady at once between `from` and `to`: in a cluster, the
 * time its Service had no endpoint and nginx answered 502 for every request to it.
 */
export function allNotReadyMs(report: ReadinessReport, role: ProbedRole, from: number, to: number): number {
  const targets = report.targets.filter((t) => t.role === role);
  const readyAt = (target: ProbeTarget, t: number) => {
    let ready = true;
    for (const transition of target.transitions) if (transition.at <= t) ready = transition.ready;
    return ready;
  };
  const edges = [...new Set([from, to, ...targets.flatMap((t) => t.transitions.map((x) => x.at)).filter((t) => t > from && t < to)])].sort((a, b) => a - b);
  let total = 0;
  for (let i = 0; i + 1 < edges.length; i++) {
    if (targets.every((target) => !readyAt(target, edges[i]!))) total += edges[i + 1]! - edges[i]!;
  }
  return total;
}

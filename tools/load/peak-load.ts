/**
 * Peak dining hour as traffic, through nginx: guests placing orders at a target rate with an
 * Idempotency-Key (retried with the same key and body until acknowledged, as a real client must:
 * nginx never replays a POST on another upstream), kitchen screens advancing every order through
 * its statuses, menu and kitchen-queue reads, and websocket clients on kitchen, restaurant and
 * table rooms connecting from many loopback source addresses (nginx's ip_hash uses three octets).
 *
 * Every attempt is recorded (operation, end time, duration, outcome), so a report can show error
 * rates, latency and throughput over any window, e.g. around a fault.
 */
import WebSocket from 'ws';
import type { OrderEvent } from '../../app/src/events/order-events';
import { RealtimeClient, type WebSocketLike } from '../../app/src/realtime/client';
import { roomFor } from '../../app/src/realtime/rooms';
import { streamIdTimeMs } from '../../app/src/realtime/stream-ids';
import { LoadHttpClient, type HttpResult } from './http-client';

export const OPERATIONS = ['order create', 'status change', 'menu read', 'kitchen queue read'] as const;
export type OperationName = (typeof OPERATIONS)[number];

/** The restaurant data the load needs (tools/local/seed.ts produces it). */
export interface LoadRestaurant {
  readonly id: string;
  readonly tableIds: readonly string[];
  readonly menuItemIds: readonly string[];
}

export type TokenSigner = (claims: { role: string; restaurant_id: string; table_id?: string; sub: string }) => Promise<string>;

export interface PeakLoadOptions {
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly restaurants: readonly LoadRestaurant[];
  readonly sign: TokenSigner;
  /** Unique per run: idempotency keys and token subjects start with it. */
  readonly runId: string;
  readonly ordersPerSecond: number;
  /** @default 2 x ordersPerSecond */
  readonly menuReadsPerSecond?: number;
  /** @default 1 per restaurant per second */
  readonly kitchenQueueReadsPerSecond?: number;
  /** Time between an order's status steps (confirmed ... completed). @default 1000 */
  readonly statusStepDelayMs?: number;
  /** Websocket clients in all (per restaurant: one kitchen, one staff, the rest at tables). @default 12 */
  readonly wsClients?: number;
  /** Distinct third octets of client source addresses (127.0.X.1). @default 32 */
  readonly sourceAddresses?: number;
  /** @default 10000 */
  readonly requestTimeoutMs?: number;
}

export interface AttemptRecord {
  readonly op: OperationName;
  /** Epoch ms when the attempt ended. */
  readonly at: number;
  readonly ms: number;
  readonly ok: boolean;
  readonly status: number;
}

export interface OrderRecord {
  readonly key: string;
  readonly restaurantId: string;
  readonly tableId: string;
  readonly body: string;
  attempts: number;
  ackedAt?: number;
  orderId?: string;
  createdAt?: string;
  /** Status reached through acknowledged status changes. */
  status: string;
  /** A 4xx that retrying cannot fix (a bug in the platform or the load). */
  rejected?: string;
  chainDone: boolean;
}

export interface ReceivedEvent {
  readonly id: string;
  readonly event: OrderEvent;
  readonly receivedAt: number;
  /** Received before `ready` (a replay after reconnecting), not live. */
  readonly replayed: boolean;
}

export interface WsObserver {
  readonly roomKey: string;
  readonly restaurantId: string;
  readonly kind: 'kitchen' | 'restaurant' | 'table';
  readonly localAddress: string;
  readonly client: RealtimeClient;
  readonly events: ReceivedEvent[];
  /** The position of the first `ready`: the client expects every event after it. */
  firstReadyId?: string;
  readonly readyAt: number[];
  readonly closedAt: number[];
}

const STATUS_STEPS = ['confirmed', 'preparing', 'ready', 'served', 'completed'] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const retryable = (status: number) => status === 0 || status >= 500 || status === 409 || status === 429;

export class PeakLoad {
  readonly attempts: AttemptRecord[] = [];
  readonly orders = new Map<string, OrderRecord>();
  readonly observers: WsObserver[] = [];
  private readonly http: LoadHttpClient;
  private readonly timers: NodeJS.Timeout[] = [];
  private issuing = false;
  private closed = false;
  private orderSeq = 0;
  private readSeq = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly guestTokens = new Map<string, string[]>();
  private readonly kitchenTokens = new Map<string, string[]>();
  private giveUpAt = Number.POSITIVE_INFINITY;
  startedAt = 0;

  constructor(private readonly options: PeakLoadOptions) {
    this.http = new LoadHttpClient(options.baseUrl, options.requestTimeoutMs ?? 10_000);
  }

  private address(n: number): string {
    return `127.0.${1 + (n % (this.options.sourceAddresses ?? 32))}.1`;
  }

  /** Mints the tokens (distinct subjects keep every principal under its rate limit) and connects the websocket clients. */
  async prepare(): Promise<void> {
    const { restaurants, sign, runId } = this.options;
    const statusWritesPerSecond = (this.options.ordersPerSecond * STATUS_STEPS.length) / restaurants.length;
    // 120 writes and 600 reads per minute per subject: stay at a third of it.
    const kitchenSubjects = Math.max(2, Math.ceil(statusWritesPerSecond / 0.66));
    for (const r of restaurants) {
      this.kitchenTokens.set(r.id, await Promise.all(Array.from({ length: kitchenSubjects }, (_, i) => sign({ role: 'kitchen', restaurant_id: r.id, sub: `${runId}-kitchen-${r.id}-${i}` }))));
      for (const tableId of r.tableIds) {
        this.guestTokens.set(`${r.id}/${tableId}`, await Promise.all([0, 1, 2].map((i) => sign({ role: 'guest', restaurant_id: r.id, table_id: tableId, sub: `${runId}-guest-${tableId}-${i}` }))));
      }
    }
    const total = this.options.wsClients ?? 12;
    const connecting: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const r = restaurants[i % restaurants.length]!;
      const slot = Math.floor(i / restaurants.length);
      const kind = slot === 0 ? 'kitchen' : slot === 1 ? 'restaurant' : 'table';
      const claims =
        kind === 'kitchen' ? { role: 'kitchen', restaurant_id: r.id } : kind === 'restaurant' ? { role: 'staff', restaurant_id: r.id } : { role: 'guest', restaurant_id: r.id, table_id: r.tableIds[slot % r.tableIds.length]! };
      const sub = `${runId}-ws-${i}`;
      const token = await sign({ ...claims, sub });
      connecting.push(this.connectObserver(kind, claims, sub, token, this.address(i)));
    }
    await Promise.all(connecting);
  }

  private connectObserver(kind: WsObserver['kind'], claims: { role: string; restaurant_id: string; table_id?: string }, sub: string, token: string, localAddress: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const events: ReceivedEvent[] = [];
      const readyAt: number[] = [];
      const closedAt: number[] = [];
      let observer: WsObserver | undefined;
      const client = new RealtimeClient({
        url: this.options.wsUrl,
        token,
        initialBackoffMs: 100,
        maxBackoffMs: 1000,
        connect: (url, t) => new WebSocket(url, { headers: { Authorization: `Bearer ${t}` }, localAddress, perMessageDeflate: false }) as unknown as WebSocketLike,
        onEvent: (event, id) => events.push({ id, event, receivedAt: Date.now(), replayed: !client.isLive }),
        onReady: (info) => {
          readyAt.push(Date.now());
          if (observer && observer.firstReadyId === undefined) observer.firstReadyId = info.id;
          resolve();
        },
        onClose: () => closedAt.push(Date.now()),
      });
      observer = { roomKey: roomFor({ sub, ...claims } as Parameters<typeof roomFor>[0]).key, restaurantId: claims.restaurant_id, kind, localAddress, client, events, readyAt, closedAt };
      this.observers.push(observer);
    });
  }

  /** Starts the open-loop schedules (orders, menu reads, kitchen queue reads). */
  start(): void {
    this.issuing = true;
    this.startedAt = Date.now();
    const { ordersPerSecond } = this.options;
    this.every(ordersPerSecond, () => this.placeOrder());
    this.every(this.options.menuReadsPerSecond ?? 2 * ordersPerSecond, () => this.read('menu read'));
    this.every(this.options.kitchenQueueReadsPerSecond ?? this.options.restaurants.length, () => this.read('kitchen queue read'));
  }

  /** Calls `fn` `perSecond` times a second, scheduled against the clock (no drift). */
  private every(perSecond: number, fn: () => void): void {
    if (perSecond <= 0) return;
    const t0 = performance.now();
    let n = 0;
    const tick = () => {
      if (!this.issuing) return;
      const due = Math.floor(((performance.now() - t0) * perSecond) / 1000);
      while (n < due) {
        n++;
        fn();
      }
      this.timers.push(setTimeout(tick, Math.max(1, Math.min(20, 1000 / perSecond))));
    };
    tick();
  }

  private track<T>(work: Promise<T>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private record(op: OperationName, result: HttpResult, ok: boolean): void {
    this.attempts.push({ op, at: result.startedAt + result.durationMs, ms: result.durationMs, ok, status: result.status });
  }

  private placeOrder(): void {
    const { restaurants, runId } = this.options;
    const n = this.orderSeq++;
    const r = restaurants[n % restaurants.length]!;
    const tableId = r.tableIds[Math.floor(n / restaurants.length) % r.tableIds.length]!;
    const items = [
      { menu_item_id: Number(r.menuItemIds[n % r.menuItemIds.length]), quantity: 1 + (n % 3) },
      { menu_item_id: Number(r.menuItemIds[(n * 7 + 3) % r.menuItemIds.length]), quantity: 1 },
    ];
    const order: OrderRecord = {
      key: `${runId}-${n}`,
      restaurantId: r.id,
      tableId,
      body: JSON.stringify({ table_id: Number(tableId), items }),
      attempts: 0,
      status: 'pending',
      chainDone: false,
    };
    this.orders.set(order.key, order);
    this.track(this.submit(order, n));
  }

  private async submit(order: OrderRecord, n: number): Promise<void> {
    const tokens = this.guestTokens.get(`${order.restaurantId}/${order.tableId}`)!;
    for (;;) {
      order.attempts += 1;
      const result = await this.http.request('POST', `/v1/restaurants/${order.restaurantId}/orders`, {
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[order.attempts % tokens.length]}`, 'idempotency-key': order.key },
        body: order.body,
        localAddress: this.address(n),
      });
      const ok = result.status === 201 || result.status === 200;
      this.record('order create', result, ok);
      if (ok) {
        const body = JSON.parse(result.body) as { id: string; created_at: string };
        order.ackedAt = Date.now();
        order.orderId = body.id;
        order.createdAt = body.created_at;
        await this.advance(order, n);
        return;
      }
      if (!retryable(result.status)) {
        order.rejected = `${result.status} ${result.body.slice(0, 200)}`;
        order.chainDone = true;
        return;
      }
      if (Date.now() > this.giveUpAt) return;
      await sleep(Math.min(1000, 50 * 2 ** Math.min(order.attempts, 5)) * (0.5 + Math.random() / 2));
    }
  }

  /** The kitchen moves the order through every status, one step per statusStepDelayMs. */
  private async advance(order: OrderRecord, n: number): Promise<void> {
    const tokens = this.kitchenTokens.get(order.restaurantId)!;
    for (const [step, to] of STATUS_STEPS.entries()) {
      await sleep(this.options.statusStepDelayMs ?? 1000);
      for (let attempt = 0; ; attempt++) {
        const result = await this.http.request('PATCH', `/v1/restaurants/${order.restaurantId}/orders/${order.orderId}/status?created_at=${encodeURIComponent(order.createdAt!)}`, {
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[(n * 5 + step + attempt) % tokens.length]}` },
          body: JSON.stringify({ status: to }),
          localAddress: this.address(n + step),
        });
        // A retry after a lost response finds the step already made: that is success, not an error.
        const alreadyThere = result.status === 409 && /"from":"([a-z]+)"/.exec(result.body)?.[1] === to;
        const ok = result.status === 200 || alreadyThere;
        this.record('status change', result, ok);
        if (ok) {
          order.status = to;
          break;
        }
        if (!retryable(result.status) || /invalid_transition/.test(result.body)) {
          order.rejected = `status ${to}: ${result.status} ${result.body.slice(0, 200)}`;
          order.chainDone = true;
          return;
        }
        if (Date.now() > this.giveUpAt) return;
        await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
      }
    }
    order.chainDone = true;
  }

  private read(op: 'menu read' | 'kitchen queue read'): void {
    const { restaurants } = this.options;
    const n = this.readSeq++;
    const r = restaurants[n % restaurants.length]!;
    const path = op === 'menu read' ? `/v1/restaurants/${r.id}/menu` : `/v1/restaurants/${r.id}/kitchen/queue?limit=20`;
    const token =
      op === 'menu read'
        ? this.guestTokens.get(`${r.id}/${r.tableIds[n % r.tableIds.length]}`)![n % 3]!
        : this.kitchenTokens.get(r.id)![n % this.kitchenTokens.get(r.id)!.length]!;
    this.track(
      this.http.request('GET', path, { headers: { authorization: `Bearer ${token}` }, localAddress: this.address(n) }).then((result) => this.record(op, result, result.status === 200)),
    );
  }

  /** Stops new orders and reads; orders in flight keep retrying. */
  stopIssuing(): void {
    this.issuing = false;
    for (const timer of this.timers) clearTimeout(timer);
  }

  /** Waits until every order is acknowledged and through its statuses, or gives up at the deadline. */
  async drain(timeoutMs: number): Promise<void> {
    this.stopIssuing();
    this.giveUpAt = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < this.giveUpAt + 2000) await Promise.race([...this.inFlight, sleep(200)]);
  }

  ackedOrders(): OrderRecord[] {
    return [...this.orders.values()].filter((o) => o.ackedAt !== undefined);
  }

  /** Orders acknowledged strictly after `t` (so consecutive phases never count one twice). */
  ackedSince(t: number): number {
    let n = 0;
    for (const o of this.orders.values()) if (o.ackedAt !== undefined && o.ackedAt > t) n++;
    return n;
  }

  allLive(): boolean {
    return this.observers.every((o) => o.client.isLive);
  }

  close(): void {
    this.closed = true;
    this.stopIssuing();
    for (const o of this.observers) o.client.close();
    this.http.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** Delivery latency of a live event: stream append (the id's time) to receipt. */
export function deliveryLatencyMs(e: ReceivedEvent): number {
  return e.receivedAt - streamIdTimeMs(e.id);
}

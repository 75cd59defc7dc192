/**
 * Order statuses as the pages show and merge them. The state machine (app/src/orders/order-state.ts)
 * only moves forward, so of two reports about one order the later status wins, whichever arrived
 * first: a websocket event, a poll, a REST snapshot read from a replica, or the answer of the
 * screen's own PATCH. That makes applying events idempotent and their order irrelevant.
 */
import type { OrderEvent } from '../../../src/events/order-events';

export type OrderStatus = OrderEvent['status'];

const RANK: Readonly<Record<OrderStatus, number>> = {
  pending: 0,
  confirmed: 1,
  preparing: 2,
  ready: 3,
  served: 4,
  completed: 5,
  cancelled: 6,
};

export const STATUS_LABELS: Readonly<Record<OrderStatus, string>> = {
  pending: 'received',
  confirmed: 'confirmed',
  preparing: 'preparing',
  ready: 'ready',
  served: 'served',
  completed: 'completed',
  cancelled: 'cancelled',
};

/** The status to keep when `incoming` is reported for an order known as `current`. */
export function laterStatus(current: OrderStatus | undefined, incoming: OrderStatus): OrderStatus {
  return current === undefined || RANK[incoming] > RANK[current] ? incoming : current;
}

/** No more changes will come. */
export function isFinal(status: OrderStatus): boolean {
  return status === 'completed' || status === 'cancelled';
}

export function isOrderStatus(value: unknown): value is OrderStatus {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(RANK, value);
}

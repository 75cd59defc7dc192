/**
 * The orders this tab placed and follows, and the realtime position to resume from, in
 * sessionStorage: a reload keeps following them (resuming the websocket from the last id, so the
 * events missed during the reload are replayed), and closing the tab forgets them with the token.
 * Only this session's orders: another guest's earlier orders at the same table are not shown.
 */
import type { OrderStatus } from '../shared/order-status';

export interface TrackedOrder {
  readonly id: string;
  readonly status: OrderStatus;
  readonly summary: string;
  readonly totalCents: number;
}

const ordersKey = (restaurantId: string, tableId: string) => `restaurant.guest-orders:${restaurantId}:${tableId}`;
const lastIdKey = (restaurantId: string, tableId: string) => `restaurant.guest-last-event:${restaurantId}:${tableId}`;

function read<T>(key: string): T | undefined {
  try {
    const text = sessionStorage.getItem(key);
    return text === null ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

function write(key: string, value: unknown): void {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: following works until the next reload.
  }
}

export function loadTrackedOrders(restaurantId: string, tableId: string): TrackedOrder[] {
  const orders = read<TrackedOrder[]>(ordersKey(restaurantId, tableId));
  return Array.isArray(orders) ? orders : [];
}

export function saveTrackedOrders(restaurantId: string, tableId: string, orders: readonly TrackedOrder[]): void {
  write(ordersKey(restaurantId, tableId), orders);
}

export function loadLastEventId(restaurantId: string, tableId: string): string | undefined {
  const id = read<string>(lastIdKey(restaurantId, tableId));
  return typeof id === 'string' ? id : undefined;
}

export function saveLastEventId(restaurantId: string, tableId: string, id: string): void {
  write(lastIdKey(restaurantId, tableId), id);
}

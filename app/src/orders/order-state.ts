/**
 * The order state machine: pending → confirmed → preparing → ready → served → completed, and
 * cancelled from pending or confirmed only (after that the kitchen has started).
 * Each status has a timestamp column set when the order enters it.
 */
import type { OrderStatus } from './order-schemas';

const NEXT: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['confirmed', 'cancelled'],
  confirmed: ['preparing', 'cancelled'],
  preparing: ['ready'],
  ready: ['served'],
  served: ['completed'],
  completed: [],
  cancelled: [],
};

/** The column stamped on entering a status (a fixed whitelist: it is interpolated into SQL). */
export const STATUS_TIMESTAMP_COLUMN: Readonly<Record<Exclude<OrderStatus, 'pending'>, string>> = {
  confirmed: 'confirmed_at',
  preparing: 'preparing_at',
  ready: 'ready_at',
  served: 'served_at',
  completed: 'completed_at',
  cancelled: 'cancelled_at',
};

export function canTransition(from: OrderStatus, to: OrderStatus): to is Exclude<OrderStatus, 'pending'> {
  return NEXT[from].includes(to);
}

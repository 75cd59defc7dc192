/**
 * The reservation state machine: pending → confirmed → seated → completed, and cancelled or
 * no_show from pending or confirmed only (once the party is seated, the booking was honoured).
 */
import type { ReservationStatus } from './reservation-schemas';

const NEXT: Readonly<Record<ReservationStatus, readonly ReservationStatus[]>> = {
  pending: ['confirmed', 'cancelled', 'no_show'],
  confirmed: ['seated', 'cancelled', 'no_show'],
  seated: ['completed'],
  completed: [],
  cancelled: [],
  no_show: [],
};

export function canTransition(from: ReservationStatus, to: ReservationStatus): boolean {
  return NEXT[from].includes(to);
}

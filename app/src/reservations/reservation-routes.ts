/**
 * The reservation routes under /v1 (thin: parse, authorize by role and restaurant, call the service).
 * Staff and managers only: bookings carry guests' names and notes.
 *
 * GET   /restaurants/:restaurantId/reservations                            ?date=YYYY-MM-DD (required)
 *         &status &limit (1..100, default 50) &cursor                      by time, then id
 * POST  /restaurants/:restaurantId/reservations                            { guest_name, reservation_date,
 *         reservation_time (HH:MM), party_size, duration_minutes? (15..720, default 120), table_id?, notes? }
 *         422 when it starts in the past; 409 reservation_conflict when the table is booked then
 * PATCH /restaurants/:restaurantId/reservations/:reservationId/status      { status }
 *
 * Parameters are validated before the restaurant check, so a malformed id is a 400 naming it.
 */
import type { Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { DatabaseManager } from '../db/database-manager';
import type { RouteKit } from '../http/app';
import { parseInput, restaurantParams } from '../http/input';
import {
  createReservationBody,
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  listReservationsQuery,
  reservationParams,
  reservationStatusBody,
} from './reservation-schemas';
import { createReservationService, type ReservationService } from './reservation-service';

export interface ReservationRouteDependencies {
  readonly db: DatabaseManager;
}

export function registerReservationRoutes(v1: Router, kit: RouteKit, deps: ReservationRouteDependencies): ReservationService {
  const service = createReservationService(deps);
  const base = '/restaurants/:restaurantId/reservations';

  v1.get(base, kit.authenticate, kit.rateLimit('read'), kit.requireRole('staff', 'manager'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const query = parseInput(listReservationsQuery, req.query, 'query');
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    res.json(await service.list({ restaurantId, date: query.date, status: query.status, limit: query.limit ?? DEFAULT_PAGE_SIZE, after }));
  });

  v1.post(base, kit.authenticate, kit.rateLimit('write'), kit.requireRole('staff', 'manager'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const body = parseInput(createReservationBody, req.body ?? {}, 'body');
    res.status(201).json(await service.create(restaurantId, body));
  });

  v1.patch(`${base}/:reservationId/status`, kit.authenticate, kit.rateLimit('write'), kit.requireRole('staff', 'manager'), async (req, res) => {
    const { restaurantId, reservationId } = parseInput(reservationParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const body = parseInput(reservationStatusBody, req.body ?? {}, 'body');
    res.json(await service.changeStatus({ restaurantId, reservationId, to: body.status }));
  });

  return service;
}

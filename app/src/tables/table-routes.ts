/**
 * The table routes under /v1 (thin: parse, authorize by role and restaurant, call the service).
 *
 * GET   /restaurants/:restaurantId/tables                   staff, manager, kitchen   ?status=
 * PATCH /restaurants/:restaurantId/tables/:tableId/status   staff, manager            { status }
 *
 * Guests get 403: the floor plan is staff information. Parameters are validated before the
 * restaurant check, so a malformed id is a 400 naming it.
 */
import type { Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { DatabaseManager } from '../db/database-manager';
import type { RouteKit } from '../http/app';
import { parseInput, restaurantParams } from '../http/input';
import { listTablesQuery, tableParams, tableStatusBody } from './table-schemas';
import { createTableService, type TableService } from './table-service';

export interface TableRouteDependencies {
  readonly db: DatabaseManager;
}

export function registerTableRoutes(v1: Router, kit: RouteKit, deps: TableRouteDependencies): TableService {
  const service = createTableService(deps);
  const base = '/restaurants/:restaurantId/tables';

  v1.get(base, kit.authenticate, kit.rateLimit('read'), kit.requireRole('staff', 'manager', 'kitchen'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const query = parseInput(listTablesQuery, req.query, 'query');
    res.json(await service.list(restaurantId, query.status));
  });

  v1.patch(`${base}/:tableId/status`, kit.authenticate, kit.rateLimit('write'), kit.requireRole('staff', 'manager'), async (req, res) => {
    const { restaurantId, tableId } = parseInput(tableParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const body = parseInput(tableStatusBody, req.body ?? {}, 'body');
    res.json(await service.setStatus(restaurantId, tableId, body.status));
  });

  return service;
}

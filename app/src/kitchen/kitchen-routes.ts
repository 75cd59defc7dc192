/**
 * The kitchen routes under /v1 (thin: parse, authorize by role and restaurant, call the service).
 *
 * GET /restaurants/:restaurantId/kitchen/queue     kitchen, staff, manager
 *       ?include_ready=true|false (default false) &limit (1..100, default 50)
 *     orders confirmed or preparing (and ready, on request) of the last 24 hours, oldest first,
 *     with their lines; `has_more` says the limit cut the list.
 *
 * Parameters are validated before the restaurant check, so a malformed id is a 400 naming it.
 */
import type { Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { DatabaseManager } from '../db/database-manager';
import type { RouteKit } from '../http/app';
import { parseInput, restaurantParams } from '../http/input';
import { DEFAULT_QUEUE_SIZE, kitchenQueueQuery } from './kitchen-schemas';
import { createKitchenService, type KitchenService } from './kitchen-service';

export interface KitchenRouteDependencies {
  readonly db: DatabaseManager;
}

export function registerKitchenRoutes(v1: Router, kit: RouteKit, deps: KitchenRouteDependencies): KitchenService {
  const service = createKitchenService(deps);

  v1.get('/restaurants/:restaurantId/kitchen/queue', kit.authenticate, kit.rateLimit('read'), kit.requireRole('kitchen', 'staff', 'manager'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const query = parseInput(kitchenQueueQuery, req.query, 'query');
    res.json(await service.queue({ restaurantId, includeReady: query.include_ready ?? false, limit: query.limit ?? DEFAULT_QUEUE_SIZE }));
  });

  return service;
}

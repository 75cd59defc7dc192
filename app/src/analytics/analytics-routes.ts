/**
 * The analytics routes under /v1, route class `analytics`: shed under load before anything else
 * (no token check, no database work), then a per-principal rate limit. Managers and staff only.
 *
 * GET /restaurants/:restaurantId/analytics/daily-revenue?from=YYYY-MM-DD&to=YYYY-MM-DD   (at most 366 days)
 * GET /restaurants/:restaurantId/analytics/kitchen-times?date=YYYY-MM-DD                 p50/p90/avg preparation
 * GET /restaurants/:restaurantId/analytics/table-turnover?date=YYYY-MM-DD                per table
 *
 * Dates are restaurant-local days. Parameters are validated before the restaurant check, so a
 * malformed id is a 400 naming it.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { DatabaseManager } from '../db/database-manager';
import type { RouteKit } from '../http/app';
import { parseInput, restaurantParams } from '../http/input';
import { dateRangeQuery, dayQuery } from './analytics-schemas';
import { createAnalyticsService, type AnalyticsService } from './analytics-service';

export interface AnalyticsRouteDependencies {
  readonly db: DatabaseManager;
}

export function registerAnalyticsRoutes(v1: Router, kit: RouteKit, deps: AnalyticsRouteDependencies): AnalyticsService {
  const service = createAnalyticsService(deps);
  const base = '/restaurants/:restaurantId/analytics';
  const guard: RequestHandler[] = [kit.shed('analytics'), kit.authenticate, kit.rateLimit('analytics'), kit.requireRole('manager', 'staff')];
  const restaurantOf = (req: Request, res: Response): string => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    return restaurantId;
  };

  v1.get(`${base}/daily-revenue`, ...guard, async (req, res) => {
    const restaurantId = restaurantOf(req, res);
    const { from, to } = parseInput(dateRangeQuery, req.query, 'query');
    res.json(await service.dailyRevenue(restaurantId, from, to));
  });

  v1.get(`${base}/kitchen-times`, ...guard, async (req, res) => {
    const restaurantId = restaurantOf(req, res);
    const { date } = parseInput(dayQuery, req.query, 'query');
    res.json(await service.kitchenTimes(restaurantId, date));
  });

  v1.get(`${base}/table-turnover`, ...guard, async (req, res) => {
    const restaurantId = restaurantOf(req, res);
    const { date } = parseInput(dayQuery, req.query, 'query');
    res.json(await service.tableTurnover(restaurantId, date));
  });

  return service;
}

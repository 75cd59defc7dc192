/**
 * The menu routes under /v1 (thin: parse, authorize by role and restaurant, call the service).
 *
 * GET  /restaurants/:restaurantId/menu                                  every role of that restaurant
 * POST /restaurants/:restaurantId/menu-items                            staff, manager
 * PATCH /restaurants/:restaurantId/menu-items/:itemId                   staff, manager
 * PUT  /restaurants/:restaurantId/menu-items/:itemId/availability       staff, kitchen, manager
 *
 * Parameters are validated before the restaurant check, so a malformed id is a 400 naming it.
 *
 * Caching headers of the menu: a strong ETag (sha256 of the body) and
 * `Cache-Control: private, max-age=30, stale-while-revalidate=60`. `private` because the response
 * is behind a bearer token: a shared cache (nginx, a CDN, a corporate proxy) must not store it and
 * hand it to a request without that token. The browser may reuse it for 30 s and revalidate with
 * `If-None-Match`, which costs one cache lookup and no body.
 */
import type { Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { InvalidationBus } from '../cache/invalidation-bus';
import type { LayeredCache } from '../cache/layered-cache';
import type { DatabaseManager } from '../db/database-manager';
import type { RouteKit } from '../http/app';
import type { Logger } from '../logger';
import { availabilityBody, createItemBody, itemParams, parseInput, restaurantParams, updateItemBody } from './menu-schemas';
import { createMenuService, type MenuService } from './menu-service';

export const MENU_CACHE_CONTROL = 'private, max-age=30, stale-while-revalidate=60';

export interface MenuRouteDependencies {
  readonly db: DatabaseManager;
  readonly cache: LayeredCache;
  readonly bus: InvalidationBus;
  readonly logger: Logger;
}

/** True when `If-None-Match` names this ETag (weak comparison, as RFC 9110 prescribes for it) or is `*`. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === etag);
}

export function registerMenuRoutes(v1: Router, kit: RouteKit, deps: MenuRouteDependencies): MenuService {
  const service = createMenuService(deps);
  const items = '/restaurants/:restaurantId/menu-items';

  v1.get('/restaurants/:restaurantId/menu', kit.authenticate, kit.rateLimit('read'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const menu = await service.getMenu(restaurantId);
    res.set({ ETag: menu.etag, 'Cache-Control': MENU_CACHE_CONTROL, Vary: 'Authorization' });
    if (ifNoneMatchHits(req.get('if-none-match'), menu.etag)) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(menu.json);
  });

  v1.post(items, kit.authenticate, kit.rateLimit('write'), kit.requireRole('staff', 'manager'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const body = parseInput(createItemBody, req.body ?? {}, 'body');
    const item = await service.createItem(restaurantId, body);
    res.status(201).location(`${req.baseUrl}${items.replace(':restaurantId', restaurantId)}/${item.id}`).json(item);
  });

  v1.patch(`${items}/:itemId`, kit.authenticate, kit.rateLimit('write'), kit.requireRole('staff', 'manager'), async (req, res) => {
    const { restaurantId, itemId } = parseInput(itemParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const body = parseInput(updateItemBody, req.body ?? {}, 'body');
    res.json(await service.updateItem(restaurantId, itemId, body));
  });

  v1.put(`${items}/:itemId/availability`, kit.authenticate, kit.rateLimit('write'), kit.requireRole('staff', 'kitchen', 'manager'), async (req, res) => {
    const { restaurantId, itemId } = parseInput(itemParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const body = parseInput(availabilityBody, req.body ?? {}, 'body');
    res.json(await service.setAvailability(restaurantId, itemId, body.is_available));
  });

  return service;
}

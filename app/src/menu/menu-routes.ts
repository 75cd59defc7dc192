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
 * The menu GET answers with a strong ETag (sha256 of the JSON), `Cache-Control: private, max-age=30,
 * stale-while-revalidate=60` (why private: menu-representation.ts) and 304 on a matching
 * `If-None-Match`. Its body and headers are prepared once per cached menu (menu-representation.ts:
 * a Buffer, plus its gzip and brotli codings chosen by Accept-Encoding) and written with
 * `writeHead` + `end`, skipping express's `res.send`, which would encode the string, measure it and
 * parse the conditional headers again on every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { InvalidationBus } from '../cache/invalidation-bus';
import type { LayeredCache } from '../cache/layered-cache';
import type { DatabaseManager } from '../db/database-manager';
import type { RouteKit } from '../http/app';
import type { Logger } from '../logger';
import { availabilityBody, createItemBody, itemParams, parseInput, restaurantParams, updateItemBody } from './menu-schemas';
import { MENU_VARY, menuRepresentation, negotiateMenuCoding } from './menu-representation';
import { createMenuService, type CachedMenu, type MenuService } from './menu-service';

export { MENU_CACHE_CONTROL, MENU_VARY } from './menu-representation';

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

  const sendMenu = (req: IncomingMessage, res: ServerResponse, cached: CachedMenu): void => {
    const menu = menuRepresentation(cached);
    // Added to, not replacing, a Vary set before (CORS varies on Origin).
    const vary = res.getHeader('Vary');
    res.setHeader('Vary', vary === undefined ? MENU_VARY : `${String(vary)}, ${MENU_VARY}`);
    if (ifNoneMatchHits(req.headers['if-none-match'], menu.etag)) {
      res.writeHead(304, menu.notModifiedHeaders).end();
      return;
    }
    const coding = negotiateMenuCoding(req.headers['accept-encoding']);
    res.writeHead(200, menu.headers[coding]).end(menu.bodies[coding]);
  };

  // The common case, a menu this process holds and a token it verified before, never reaches
  // express: the fast lane (http/fast-lane.ts) answers it with the same headers and body.
  kit.fast({
    method: 'GET',
    label: '/v1/restaurants/:restaurantId/menu',
    pattern: /^\/v1\/restaurants\/([1-9][0-9]{0,17})\/menu$/,
    routeClass: 'read',
    answer: (restaurantId) => {
      const local = service.localMenu(restaurantId);
      return local === undefined ? undefined : (req, res) => sendMenu(req, res, local);
    },
  });

  // Synchronous when this process holds the menu: no promise on the way.
  v1.get('/restaurants/:restaurantId/menu', kit.authenticate, kit.rateLimit('read'), (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const local = service.localMenu(restaurantId);
    if (local !== undefined) return sendMenu(req, res, local);
    return service.getMenu(restaurantId).then((menu) => sendMenu(req, res, menu));
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

/**
 * The order routes under /v1 (thin: parse, authorize by role and restaurant, call the service).
 *
 * POST  /restaurants/:restaurantId/orders                      guest (own table), staff, manager;
 *         409 ordering_closed while the settings say `ordering_open: false`
 * GET   /restaurants/:restaurantId/orders/:orderId             all roles; guests only their table's orders
 *         ?created_at=<ISO> (one partition; without it every partition is probed) &include=items
 * GET   /restaurants/:restaurantId/orders                      all roles; guests forced to their table
 *         ?status &table_id &date=YYYY-MM-DD (restaurant-local) &limit (1..100, default 20) &cursor
 * GET   /restaurants/:restaurantId/orders/:orderId/status      all roles; guests only their table's orders.
 *         Cached (L1 + Redis) and invalidated on every change: what guests poll.
 * PATCH /restaurants/:restaurantId/orders/:orderId/status      staff, kitchen, manager  { status }
 *         ?created_at=<ISO>
 *
 * Guests are not modelled as guest ids in tokens (`sub` is the identity service's subject, not
 * guests.id), so "a guest's own orders" means the orders of the guest's table.
 *
 * Parameters are validated before the restaurant check, so a malformed id is a 400 naming it.
 */
import type { Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { DatabaseManager } from '../db/database-manager';
import type { RouteKit } from '../http/app';
import type { Logger } from '../logger';
import type { AppMetrics } from '../metrics';
import {
  DEFAULT_PAGE_SIZE,
  IDEMPOTENCY_HEADER,
  createOrderBody,
  decodeCursor,
  getOrderQuery,
  idempotencyKeyHeader,
  listOrdersQuery,
  orderParams,
  parseInput,
  restaurantParams,
  statusBody,
  statusQuery,
} from './order-schemas';
import { createOrderService, type OrderService, type OrderServiceDependencies } from './order-service';
import { CONSISTENCY_TOKEN_HEADER } from '../db/request-consistency';
import { encodeReadYourWritesToken } from '../db/read-your-writes';
import { parseWalPosition } from '../db/wal-position';
import { unstorableFields } from '../http/input';

export interface OrderRouteDependencies {
  readonly db: DatabaseManager;
  readonly logger: Logger;
  /** Order lifecycle and create call metrics. @default - none */
  readonly metrics?: Pick<AppMetrics, 'orders' | 'orderCreateCallOrders'>;
  /** Order creates in flight at once (order-service.ts `groupSlots`). @default DEFAULT_GROUP_SLOTS */
  readonly groupSlots?: number;
  /** Caches `GET .../status` (kind `order-status`), invalidated on status changes. @default - uncached */
  readonly statusCache?: OrderServiceDependencies['statusCache'];
}

export function registerOrderRoutes(v1: Router, kit: RouteKit, deps: OrderRouteDependencies): OrderService {
  const calls = deps.metrics?.orderCreateCallOrders;
  const service = createOrderService({
    db: deps.db,
    observer: deps.metrics?.orders,
    statusCache: deps.statusCache,
    groupSlots: deps.groupSlots,
    onGroupCall: calls ? (orders) => calls.observe(orders) : undefined,
  });
  const base = '/restaurants/:restaurantId/orders';

  // The happy path of a create never reaches express: the fast lane (http/fast-lane.ts) reads and
  // parses the body; anything but a 201 (a NUL, a validation error, a refusal, a failure) goes to
  // the express route below with the body parsed, which answers it (a refusal writes nothing, so
  // asking the service again gives the same answer; a failure is tried once more).
  const location = (restaurantId: string, order: { id: string; created_at: string }) =>
    `/v1/restaurants/${restaurantId}/orders/${order.id}?created_at=${encodeURIComponent(order.created_at)}`;
  kit.fast({
    method: 'POST',
    label: '/v1/restaurants/:restaurantId/orders',
    pattern: /^\/v1\/restaurants\/([1-9][0-9]{0,17})\/orders$/,
    routeClass: 'write',
    roles: ['guest', 'staff', 'manager'],
    accepts: (req) => idempotencyKeyHeader.safeParse({ [IDEMPOTENCY_HEADER]: req.headers['idempotency-key'] }).success,
    handle: ({ req, restaurantId, claims, body, toExpress, sendJson }) => {
      if (unstorableFields(body, 'body').length > 0) return toExpress();
      const parsed = createOrderBody.safeParse(body);
      if (!parsed.success) return toExpress();
      service.create(claims, restaurantId, String(req.headers['idempotency-key']), parsed.data).then(
        (result) =>
          sendJson(result.status, result.body, {
            Location: location(restaurantId, result.body),
            [CONSISTENCY_TOKEN_HEADER]: encodeReadYourWritesToken({ walPosition: parseWalPosition(result.walPosition) }),
          }),
        toExpress,
      );
    },
  });

  v1.post(base, kit.authenticate, kit.rateLimit('write'), kit.requireRole('guest', 'staff', 'manager'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    const claims = authClaims(res);
    assertSameRestaurant(claims, restaurantId);
    const key = parseInput(idempotencyKeyHeader, { [IDEMPOTENCY_HEADER]: req.get(IDEMPOTENCY_HEADER) }, 'header')[IDEMPOTENCY_HEADER];
    const body = parseInput(createOrderBody, req.body ?? {}, 'body');
    const result = await service.create(claims, restaurantId, key, body);
    res.status(result.status).location(location(restaurantId, result.body)).json(result.body);
  });

  v1.get(`${base}/:orderId/status`, kit.authenticate, kit.rateLimit('read'), async (req, res) => {
    const { restaurantId, orderId } = parseInput(orderParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    res.json(await service.getStatus(authClaims(res), { restaurantId, orderId }));
  });

  v1.get(`${base}/:orderId`, kit.authenticate, kit.rateLimit('read'), async (req, res) => {
    const { restaurantId, orderId } = parseInput(orderParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const query = parseInput(getOrderQuery, req.query, 'query');
    res.json(await service.get(authClaims(res), { restaurantId, orderId, createdAt: query.created_at, includeItems: query.include === 'items' }));
  });

  v1.get(base, kit.authenticate, kit.rateLimit('read'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const query = parseInput(listOrdersQuery, req.query, 'query');
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    res.json(
      await service.list(authClaims(res), {
        restaurantId,
        status: query.status,
        tableId: query.table_id,
        date: query.date,
        limit: query.limit ?? DEFAULT_PAGE_SIZE,
        after,
      }),
    );
  });

  v1.patch(`${base}/:orderId/status`, kit.authenticate, kit.rateLimit('write'), kit.requireRole('staff', 'kitchen', 'manager'), async (req, res) => {
    const { restaurantId, orderId } = parseInput(orderParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const query = parseInput(statusQuery, req.query, 'query');
    const body = parseInput(statusBody, req.body ?? {}, 'body');
    res.json(await service.changeStatus(authClaims(res), { restaurantId, orderId, createdAt: query.created_at, to: body.status }));
  });

  return service;
}

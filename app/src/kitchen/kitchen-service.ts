/**
 * The kitchen queue: what the line has to cook, oldest first.
 *
 * Only orders of the last KITCHEN_WINDOW_HOURS count: an order still "preparing" after a day was
 * abandoned, not cooking, and the bound keeps the query on the current partitions however long the
 * order history grows.
 *
 * Read-your-writes: the read uses `restaurant:<id>`, the key order creation and status changes
 * record, so a screen never loses an order it just moved to preparing because a replica lags.
 */
import type { DatabaseManager } from '../db/database-manager';
import { consistencyKey } from '../orders/order-service';
import type { OrderStatus } from '../orders/order-schemas';
import { kitchenQueue, type KitchenOrderRow } from './kitchen-repository';
import { MAX_QUEUE_SIZE } from './kitchen-schemas';

export const KITCHEN_WINDOW_HOURS = 24;

export interface KitchenService {
  queue(args: { restaurantId: string; includeReady: boolean; limit: number }): Promise<{ orders: KitchenOrderRow[]; has_more: boolean }>;
}

export function createKitchenService(deps: { db: DatabaseManager }): KitchenService {
  const { db } = deps;
  return {
    async queue(args) {
      const limit = Math.min(args.limit, MAX_QUEUE_SIZE);
      const statuses: OrderStatus[] = args.includeReady ? ['confirmed', 'preparing', 'ready'] : ['confirmed', 'preparing'];
      const rows = await db.read(
        (client) => kitchenQueue(client, { restaurantId: args.restaurantId, statuses, windowHours: KITCHEN_WINDOW_HOURS, limit: limit + 1 }),
        { name: 'kitchen.queue', consistencyKey: consistencyKey(args.restaurantId) },
      );
      return { orders: rows.slice(0, limit), has_more: rows.length > limit };
    },
  };
}

/**
 * The menu's domain logic: the cached public menu (body and strong ETag computed once per cached
 * value) and the staff writes, each one transaction on the primary followed by a menu invalidation.
 *
 * Read-your-writes: writes record their WAL position under `restaurant:<id>` and the menu loader
 * reads with that key, so the process that took a manager's edit never refills its cache from a
 * replica that has not replayed the edit yet.
 */
import { createHash } from 'node:crypto';
import type { InvalidationBus } from '../cache/invalidation-bus';
import { CACHE_POLICIES, cacheKeys } from '../cache/cache-keys';
import type { LayeredCache } from '../cache/layered-cache';
import type { DatabaseManager } from '../db/database-manager';
import { sqlState } from '../db/pg-errors';
import { notFound, unprocessable } from '../errors';
import type { Logger } from '../logger';
import {
  categoryBelongsTo,
  findRestaurantCurrency,
  insertItem,
  listAvailableItems,
  listCategories,
  updateItem,
  type ItemChanges,
  type MenuItemRow,
} from './menu-repository';
import type { CreateItemBody, UpdateItemBody } from './menu-schemas';

const FOREIGN_KEY_VIOLATION = '23503';

export const consistencyKey = (restaurantId: string): string => `restaurant:${restaurantId}`;

/** What the cache holds per restaurant: the serialized response and its strong ETag. */
export interface CachedMenu {
  /** The JSON response body, serialized once. */
  readonly json: string;
  /** Strong ETag: `"<sha256 of json, base64url>"`. */
  readonly etag: string;
}

export interface MenuDocument {
  readonly restaurant_id: string;
  readonly currency: string;
  readonly categories: {
    readonly id: string;
    readonly name: string;
    readonly sort_order: number;
    readonly items: { id: string; name: string; description: string | null; price_cents: number; image_keys: Record<string, string> | null }[];
  }[];
}

/** A menu item as the API returns it: the row, as stored. */
export type MenuItem = MenuItemRow;

export interface MenuServiceDependencies {
  readonly db: DatabaseManager;
  readonly cache: LayeredCache;
  readonly bus: InvalidationBus;
  readonly logger: Logger;
}

export interface MenuService {
  /** The restaurant's menu from the cache; 404 when the restaurant does not exist. */
  getMenu(restaurantId: string): Promise<CachedMenu>;
  /** The menu when this process holds it in memory (L1), without a promise; else undefined (use `getMenu`). */
  localMenu(restaurantId: string): CachedMenu | undefined;
  createItem(restaurantId: string, body: CreateItemBody): Promise<MenuItem>;
  updateItem(restaurantId: string, itemId: string, body: UpdateItemBody): Promise<MenuItem>;
  setAvailability(restaurantId: string, itemId: string, isAvailable: boolean): Promise<MenuItem>;
}

export function etagOf(json: string): string {
  return `"${createHash('sha256').update(json).digest('base64url')}"`;
}

function toItem(row: MenuItemRow): MenuItem {
  return { ...row };
}

export function createMenuService(deps: MenuServiceDependencies): MenuService {
  const { db, cache, bus, logger } = deps;

  /** Null for an unknown restaurant: the cache does not store it (no negative caching). */
  const loadMenu = (restaurantId: string): Promise<CachedMenu | null> =>
    db.read(
      async (client) => {
        const currency = await findRestaurantCurrency(client, restaurantId);
        if (currency === undefined) return null;
        const [categories, items] = [await listCategories(client, restaurantId), await listAvailableItems(client, restaurantId)];
        const byCategory = new Map<string, MenuDocument['categories'][number]['items']>();
        for (const item of items) {
          const list = byCategory.get(item.category_id) ?? [];
          list.push({ id: item.id, name: item.name, description: item.description, price_cents: item.price_cents, image_keys: item.image_keys });
          byCategory.set(item.category_id, list);
        }
        const menu: MenuDocument = {
          restaurant_id: restaurantId,
          currency,
          categories: categories.map((c) => ({ id: c.id, name: c.name, sort_order: c.sort_order, items: byCategory.get(c.id) ?? [] })),
        };
        const json = JSON.stringify(menu);
        return { json, etag: etagOf(json) };
      },
      // The primary, not a replica: this value fills the cache every instance shares. Another
      // instance refilling from a lagging replica right after an edit would spread the old menu
      // for a whole TTL. The cache makes this about one primary query per change per TTL.
      { name: 'menu.load', consistency: 'primary' },
    );

  /** After commit only; the bus never throws, a failed publish is retried by the bus itself. */
  const invalidate = async (restaurantId: string): Promise<void> => {
    const result = await bus.invalidateMenu(restaurantId);
    if (!result.published) logger.warn({ restaurantId }, 'menu invalidation not published yet (will be retried)');
  };

  /** Runs one write transaction of this restaurant: 404 for an unknown restaurant, FK races as 422. */
  const write = async <T>(restaurantId: string, name: string, work: (client: Parameters<Parameters<DatabaseManager['transaction']>[0]>[0]) => Promise<T>): Promise<T> => {
    try {
      return await db.transaction(
        async (client) => {
          if ((await findRestaurantCurrency(client, restaurantId)) === undefined) throw notFound('restaurant');
          return work(client);
        },
        { name, consistencyKey: consistencyKey(restaurantId) },
      );
    } catch (error) {
      // The category was deleted between the check and the write.
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) throw categoryNotInRestaurant();
      throw error;
    }
  };

  const categoryNotInRestaurant = () => unprocessable('body.category_id: is not a category of this restaurant', { field: 'body.category_id' });

  const requireCategory = async (client: Parameters<typeof categoryBelongsTo>[0], restaurantId: string, categoryId: string) => {
    if (!(await categoryBelongsTo(client, restaurantId, categoryId))) throw categoryNotInRestaurant();
  };

  const change = async (restaurantId: string, itemId: string, name: string, changes: ItemChanges): Promise<MenuItem> => {
    const row = await write(restaurantId, name, async (client) => {
      if (changes.categoryId !== undefined) await requireCategory(client, restaurantId, changes.categoryId);
      const updated = await updateItem(client, restaurantId, itemId, changes);
      if (!updated) throw notFound('menu item');
      return updated;
    });
    await invalidate(restaurantId);
    return toItem(row);
  };

  return {
    async getMenu(restaurantId) {
      const menu = await cache.get(cacheKeys.menu(restaurantId), () => loadMenu(restaurantId), CACHE_POLICIES.menu);
      if (!menu) throw notFound('restaurant');
      return menu;
    },

    localMenu: (restaurantId) => cache.getLocal<CachedMenu>(cacheKeys.menu(restaurantId)),

    async createItem(restaurantId, body) {
      const row = await write(restaurantId, 'menu.create_item', async (client) => {
        await requireCategory(client, restaurantId, body.category_id);
        return insertItem(client, restaurantId, {
          categoryId: body.category_id,
          name: body.name,
          description: body.description ?? null,
          priceCents: body.price_cents,
          isAvailable: body.is_available,
        });
      });
      await invalidate(restaurantId);
      return toItem(row);
    },

    updateItem: (restaurantId, itemId, body) =>
      change(restaurantId, itemId, 'menu.update_item', { categoryId: body.category_id, name: body.name, description: body.description, priceCents: body.price_cents }),

    setAvailability: (restaurantId, itemId, isAvailable) => change(restaurantId, itemId, 'menu.set_availability', { isAvailable }),
  };
}

/**
 * Restaurant settings through the layered cache: read on every screen load, so they are served
 * from the process (L1) or Redis (L2); a change is written to the primary, then the bus drops every
 * process's copy. Loads read the primary for the same reason the menu does: a refill from a
 * lagging replica right after a change would spread the old settings for a whole TTL.
 */
import type { InvalidationBus } from '../cache/invalidation-bus';
import { cacheKeys, CACHE_POLICIES } from '../cache/cache-keys';
import type { LayeredCache } from '../cache/layered-cache';
import type { DatabaseManager } from '../db/database-manager';
import { notFound } from '../errors';
import type { Logger } from '../logger';
import { findSettings, mergeSettings, type SettingsRow } from './settings-repository';
import type { SettingsPatch } from './settings-schemas';

export interface SettingsServiceDependencies {
  readonly db: DatabaseManager;
  readonly cache: LayeredCache;
  readonly bus: InvalidationBus;
  readonly logger: Logger;
}

export interface SettingsService {
  get(restaurantId: string): Promise<SettingsRow>;
  update(restaurantId: string, patch: SettingsPatch): Promise<SettingsRow>;
}

export function createSettingsService(deps: SettingsServiceDependencies): SettingsService {
  const { db, cache, bus, logger } = deps;
  return {
    async get(restaurantId) {
      const row = await cache.get(
        cacheKeys.settings(restaurantId),
        async () => (await db.read((client) => findSettings(client, restaurantId), { name: 'settings.load', consistency: 'primary' })) ?? null,
        CACHE_POLICIES.settings,
      );
      if (!row) throw notFound('restaurant');
      return row;
    },

    async update(restaurantId, patch) {
      const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null));
      const remove = Object.entries(patch).filter(([, v]) => v === null).map(([k]) => k);
      const row = await db.write((client) => mergeSettings(client, restaurantId, set, remove), { name: 'settings.update', consistencyKey: `restaurant:${restaurantId}` });
      if (!row) throw notFound('restaurant');
      const result = await bus.invalidateSettings(restaurantId);
      if (!result.published) logger.warn({ restaurantId }, 'settings invalidation not published yet (will be retried)');
      return row;
    },
  };
}

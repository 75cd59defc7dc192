/**
 * Analytics for managers and staff: revenue per day from the daily_revenue_summary view (refreshed
 * every 15 minutes by a CronJob, so today's figures trail the orders by up to that much), and
 * kitchen preparation times and table turnover of one day computed live from orders.
 *
 * Every read goes to a replica (the default `replica-ok`, no consistency key): a replica a second
 * behind changes nothing in a report, and the primary keeps its capacity for orders.
 */
import type { DatabaseManager } from '../db/database-manager';
import { notFound } from '../errors';
import * as repo from './analytics-repository';

export interface AnalyticsService {
  dailyRevenue(restaurantId: string, from: string, to: string): Promise<{ currency: string; from: string; to: string; days: repo.RevenueDay[] }>;
  kitchenTimes(restaurantId: string, date: string): Promise<{ date: string; timezone: string } & repo.KitchenTimes>;
  tableTurnover(restaurantId: string, date: string): Promise<{ date: string; timezone: string; tables: repo.TableTurnover[] }>;
}

export function createAnalyticsService(deps: { db: DatabaseManager }): AnalyticsService {
  const { db } = deps;

  const restaurant = async (client: Parameters<typeof repo.restaurantInfo>[0], restaurantId: string) => {
    const info = await repo.restaurantInfo(client, restaurantId);
    if (!info) throw notFound('restaurant');
    return info;
  };

  return {
    dailyRevenue: (restaurantId, from, to) =>
      db.read(
        async (client) => {
          const { currency } = await restaurant(client, restaurantId);
          return { currency, from, to, days: await repo.dailyRevenue(client, restaurantId, from, to) };
        },
        { name: 'analytics.daily_revenue' },
      ),

    kitchenTimes: (restaurantId, date) =>
      db.read(
        async (client) => {
          const { timezone } = await restaurant(client, restaurantId);
          return { date, timezone, ...(await repo.kitchenTimes(client, restaurantId, date, timezone)) };
        },
        { name: 'analytics.kitchen_times' },
      ),

    tableTurnover: (restaurantId, date) =>
      db.read(
        async (client) => {
          const { timezone } = await restaurant(client, restaurantId);
          return { date, timezone, tables: await repo.tableTurnover(client, restaurantId, date, timezone) };
        },
        { name: 'analytics.table_turnover' },
      ),
  };
}

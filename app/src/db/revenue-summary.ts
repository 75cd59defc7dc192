/**
 * Refreshes `daily_revenue_summary` (see its migration for what it holds). CONCURRENTLY builds the
 * new contents beside the old and applies the difference under an EXCLUSIVE lock, which does not
 * conflict with readers' ACCESS SHARE: dashboards keep reading the previous numbers meanwhile. It
 * needs the view's unique index on (restaurant_id, order_date) and a populated view, which the
 * migration creates. Two refreshes queue on that lock; the CronJob forbids overlapping runs anyway.
 *
 * The refresh recomputes every day of every completed order, so its cost grows with the order
 * history; if it nears the CronJob's 15-minute interval, summarising closed days into a table and
 * refreshing only recent days is the next step.
 */
import type { ClientBase, Pool } from 'pg';

export const DAILY_REVENUE_SUMMARY_VIEW = 'daily_revenue_summary';

export interface RevenueSummaryRefresh {
  readonly durationMs: number;
  /** Rows (restaurant and day) in the view after the refresh. */
  readonly rows: number;
}

/** Refreshes the view over `db` (a session to the primary: a standby cannot refresh). */
export async function refreshDailyRevenueSummary(db: ClientBase | Pool): Promise<RevenueSummaryRefresh> {
  const started = process.hrtime.bigint();
  try {
    await db.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${DAILY_REVENUE_SUMMARY_VIEW}`);
  } catch (error) {
    throw new Error(`refreshing ${DAILY_REVENUE_SUMMARY_VIEW} failed: ${(error as Error).message}`, { cause: error });
  }
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${DAILY_REVENUE_SUMMARY_VIEW}`);
  return { durationMs, rows: rows[0]!.n };
}

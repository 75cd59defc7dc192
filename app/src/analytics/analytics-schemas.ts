/**
 * Input schemas of the analytics routes. Validation failures become a 400 naming the field through
 * the order routes' `parseInput` (`query.from`, `query.to`, `query.date`).
 */
import { z } from 'zod';

/** A year, leap day included: the longest range one request may scan. */
export const MAX_RANGE_DAYS = 366;

/** A restaurant-local calendar date; zod checks the day exists (no 2026-02-30). */
const localDate = z.iso.date({ message: 'must be a date (YYYY-MM-DD)' });

const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

export const dateRangeQuery = z
  .strictObject({ from: localDate, to: localDate })
  .superRefine((range, ctx) => {
    const days = dayNumber(range.to) - dayNumber(range.from) + 1;
    if (days < 1) ctx.addIssue({ code: 'custom', path: ['to'], message: `must not be before from (${range.from})` });
    else if (days > MAX_RANGE_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the range may cover at most ${MAX_RANGE_DAYS} days, got ${days}` });
  });

export const dayQuery = z.strictObject({ date: localDate });

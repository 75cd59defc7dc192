/**
 * A restaurant's settings: what guests' and staff's screens read on every visit (opening hours,
 * whether ordering is open, tax and service charge) and a manager changes a few times a year.
 * Stored in `restaurants.settings` (jsonb); this schema is the only writer's contract, and a PATCH
 * merges top-level fields (a field set to null is removed).
 */
import { z } from 'zod';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const clock = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a time HH:MM');
const percent = z.number().min(0, 'must not be negative').max(30, 'must be at most 30').multipleOf(0.01, 'must have at most two decimals');

/** Opening periods of one day; `close` before `open` means past midnight. */
const day = z.array(z.strictObject({ open: clock, close: clock })).max(4, 'must have at most 4 periods');

export const restaurantSettings = z.strictObject({
  /**
   * Orders may be placed (false: the kitchen is closed, the menu still shows, and POST orders answers
   * 409 `ordering_closed` to every role; create_order_idempotent reads it). Absent means open.
   */
  ordering_open: z.boolean().optional(),
  tax_rate_percent: percent.optional(),
  service_charge_percent: percent.optional(),
  opening_hours: z.strictObject(Object.fromEntries(DAYS.map((d) => [d, day.optional()])) as Record<(typeof DAYS)[number], z.ZodOptional<typeof day>>).optional(),
});
export type RestaurantSettings = z.infer<typeof restaurantSettings>;

/** A PATCH: any subset of the fields; null removes one. */
export const settingsPatch = z
  .strictObject(Object.fromEntries(Object.entries(restaurantSettings.shape).map(([k, v]) => [k, (v as z.ZodOptional<z.ZodType>).unwrap().nullable().optional()])) as {
    [K in keyof RestaurantSettings]-?: z.ZodOptional<z.ZodNullable<z.ZodType<NonNullable<RestaurantSettings[K]>>>>;
  })
  // Only when the fields themselves passed: an unknown field is not "no change".
  .refine((body) => Object.keys(body).length > 0, { message: 'must change at least one setting', when: (payload) => payload.issues.length === 0 });
export type SettingsPatch = z.infer<typeof settingsPatch>;

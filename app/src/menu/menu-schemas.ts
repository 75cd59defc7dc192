/**
 * Input schemas of the menu routes (the parse helper is http/input.ts).
 */
import { z } from 'zod';
import { bodyId, databaseId, parseInput, restaurantParams } from '../http/input';

export { parseInput, restaurantParams };

export const MAX_PRICE_CENTS = 10_000_000;


const name = z.string().trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters');
const description = z.string().max(1000, 'must be at most 1000 characters').nullable();
const priceCents = z.number().int('must be an integer').min(0, 'must not be negative').max(MAX_PRICE_CENTS, `must be at most ${MAX_PRICE_CENTS}`);

export const itemParams = z.strictObject({ restaurantId: databaseId, itemId: databaseId });

export const createItemBody = z.strictObject({
  category_id: bodyId,
  name,
  description: description.optional(),
  price_cents: priceCents,
  is_available: z.boolean().default(true),
});
export type CreateItemBody = z.infer<typeof createItemBody>;

export const updateItemBody = z
  .strictObject({
    category_id: bodyId.optional(),
    name: name.optional(),
    description: description.optional(),
    price_cents: priceCents.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'must change at least one of category_id, name, description, price_cents' });
export type UpdateItemBody = z.infer<typeof updateItemBody>;

export const availabilityBody = z.strictObject({ is_available: z.boolean() });

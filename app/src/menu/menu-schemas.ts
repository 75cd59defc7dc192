/**
 * Input schemas of the menu routes and the parse helper that turns a zod failure into a 400 naming
 * the field (`body.price_cents`, `params.itemId`, `body.color` for an unknown field).
 */
import { z } from 'zod';
import { AppError } from '../errors';

export const MAX_PRICE_CENTS = 10_000_000;

/** A positive bigint id as a decimal string (path parameters). */
const databaseId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a positive integer id');
/** In a body an id may also be a JSON number. */
const bodyId = z.union([databaseId, z.number().int().positive().max(Number.MAX_SAFE_INTEGER)]).transform((v) => String(v));

const name = z.string().trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters');
const description = z.string().max(1000, 'must be at most 1000 characters').nullable();
const priceCents = z.number().int('must be an integer').min(0, 'must not be negative').max(MAX_PRICE_CENTS, `must be at most ${MAX_PRICE_CENTS}`);

export const restaurantParams = z.strictObject({ restaurantId: databaseId });
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

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'params'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = result.error.issues.flatMap((issue) => {
    const base = [where, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ field: `${base}.${key}`, message: 'is not allowed' }));
    return [{ field: base, message: issue.message }];
  });
  throw new AppError('validation_failed', fields.map((f) => `${f.field}: ${f.message}`).join('; '), 400, { details: { fields } });
}

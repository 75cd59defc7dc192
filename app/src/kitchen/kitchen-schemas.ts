/**
 * Input schemas of the kitchen routes. Validation failures become a 400 naming the field through
 * the order routes' `parseInput` (`query.limit`, `query.include_ready`).
 */
import { z } from 'zod';

export const MAX_QUEUE_SIZE = 100;
export const DEFAULT_QUEUE_SIZE = 50;

export const kitchenQueueQuery = z.strictObject({
  /** Also list orders that are ready and waiting at the pass. */
  include_ready: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .transform((v) => v === 'true')
    .optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(MAX_QUEUE_SIZE, `must be at most ${MAX_QUEUE_SIZE}`))
    .optional(),
});

/**
 * Input schemas of the order routes (the parse helper is http/input.ts).
 */
import { z } from 'zod';
import { ORDER_STATUSES } from '../events/order-events';
import { bodyId, databaseId, decodeKeysetCursor, encodeKeysetCursor, parseInput, restaurantParams, throwFields } from '../http/input';

export { ORDER_STATUSES, parseInput, restaurantParams, throwFields };
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 50;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** An order's created_at as the API returns it (ISO 8601 with offset, microseconds allowed). */
const timestamp = z.string().datetime({ offset: true, message: 'must be an ISO 8601 timestamp' });

export const createOrderBody = z.strictObject({
  table_id: bodyId,
  items: z
    .array(
      z.strictObject({
        menu_item_id: bodyId,
        quantity: z.number().int().min(1).max(MAX_QUANTITY),
        notes: z.string().max(200).optional(),
      }),
    )
    .min(1)
    .max(MAX_ITEMS),
});
export type CreateOrderBody = z.infer<typeof createOrderBody>;

export const orderParams = z.object({ restaurantId: databaseId, orderId: databaseId });

export const getOrderQuery = z.strictObject({
  created_at: timestamp.optional(),
  include: z.enum(['items']).optional(),
});

export const listOrdersQuery = z.strictObject({
  status: z.enum(ORDER_STATUSES).optional(),
  table_id: databaseId.optional(),
  date: z.iso.date({ message: 'must be a date (YYYY-MM-DD)' }).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE))
    .optional(),
  cursor: z.string().max(200).optional(),
});

export const statusBody = z.strictObject({ status: z.enum(ORDER_STATUSES) });
export const statusQuery = z.strictObject({ created_at: timestamp.optional() });

export const idempotencyKeyHeader = z.object({ [IDEMPOTENCY_HEADER]: z.string({ message: 'header is required' }).min(1).max(200) });

/** Opaque keyset cursor: base64url of JSON `[created_at, id]` of the last row of a page. */
export interface Cursor {
  readonly createdAt: string;
  readonly id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return encodeKeysetCursor([cursor.createdAt, cursor.id]);
}

const cursorTuple = z.tuple([timestamp, databaseId]);

export function decodeCursor(raw: string): Cursor {
  const [createdAt, id] = decodeKeysetCursor(raw, cursorTuple);
  return { createdAt, id };
}

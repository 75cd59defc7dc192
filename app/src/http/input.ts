/**
 * Request input validation shared by every route: the id formats and the parse helper that turns a
 * zod failure into a 400 naming each field (`body.items.2.quantity`, `query.limit`,
 * `params.orderId`, `header.Idempotency-Key`, `body.color` for a field that is not allowed).
 */
import { z } from 'zod';
import { AppError } from '../errors';

/** A positive bigint id as a decimal string (path and query parameters). */
export const databaseId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a positive integer id');
/** In a JSON body an id may also be a number. */
export const bodyId = z.union([databaseId, z.number().int().positive().max(Number.MAX_SAFE_INTEGER)]).transform((v) => String(v));

export const restaurantParams = z.object({ restaurantId: databaseId });

export type InputSource = 'body' | 'query' | 'params' | 'header';

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: InputSource): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = result.error.issues.flatMap((issue) => {
    const base = [where, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ field: `${base}.${key}`, message: 'is not allowed' }));
    return [{ field: base, message: issue.message }];
  });
  return throwFields(fields);
}

/** A 400 `validation_failed` listing every field with its problem. */
export function throwFields(fields: { field: string; message: string }[]): never {
  throw new AppError('validation_failed', fields.map((f) => `${f.field}: ${f.message}`).join('; '), 400, { details: { fields } });
}

/**
 * Keyset pagination cursors: opaque to clients, base64url of a JSON tuple (the sort key of the last
 * row of a page, then its id). Decoding validates the tuple; a bad cursor is a 400 on `query.cursor`.
 */
export function encodeKeysetCursor(values: readonly [string, string]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeKeysetCursor<T extends z.ZodType<readonly [string, string]>>(raw: string, tuple: T): z.output<T> {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(raw)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    return throwFields([{ field: 'query.cursor', message: 'is not a valid cursor' }]);
  }
  const parsed = tuple.safeParse(value);
  if (!parsed.success) return throwFields([{ field: 'query.cursor', message: 'is not a valid cursor' }]);
  return parsed.data;
}

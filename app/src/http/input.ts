/**
 * Request input validation shared by every route: the id formats and the parse helper that turns a
 * zod failure into a 400 naming each field (`body.items.2.quantity`, `query.limit`,
 * `params.orderId`, `header.Idempotency-Key`, `body.color` for a field that is not allowed).
 */
import type { RequestHandler } from 'express';
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

/** Bounds the walk of a hostile body; JSON bodies are already capped at JSON_BODY_LIMIT bytes. */
export const MAX_INPUT_DEPTH = 32;

/**
 * Every string (value or key) in `value` that contains NUL (U+0000), as `where.path`, at most
 * `limit` of them; and a node nested deeper than MAX_INPUT_DEPTH. PostgreSQL refuses NUL in text,
 * so such a string would fail its statement whatever the column.
 */
export function unstorableFields(value: unknown, where: string, limit = 10): { field: string; message: string }[] {
  const found: { field: string; message: string }[] = [];
  const nul = 'must not contain the NUL character (\\u0000)';
  const visit = (node: unknown, at: string, depth: number): void => {
    if (found.length >= limit) return;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) found.push({ field: at, message: nul });
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if (depth >= MAX_INPUT_DEPTH) {
      found.push({ field: at, message: `must not nest deeper than ${MAX_INPUT_DEPTH} levels` });
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      if (key.includes('\u0000')) found.push({ field: `${at}.${key.replace(/\u0000/g, '\\u0000')}`, message: `name ${nul}` });
      else visit(child, `${at}.${key}`, depth + 1);
    }
  };
  visit(value, where, 0);
  return found;
}

/**
 * Refuses, with a 400 naming each field, a JSON body or query string holding a NUL character
 * anywhere (order line notes, reservation guest names and notes, menu item names and
 * descriptions: every text column), before any route reads it. Without it PostgreSQL's refusal
 * (`invalid byte sequence for encoding "UTF8": 0x00`) surfaced as a 500.
 */
export const refuseUnstorableInput: RequestHandler = (req, _res, next) => {
  const fields = [...unstorableFields(req.body, 'body'), ...unstorableFields(req.query, 'query')];
  if (fields.length > 0) throwFields(fields);
  next();
};

/**
 * The JSON body parser, then `refuseUnstorableInput`, as one middleware that skips both for a
 * request with neither a body nor a query string (most GETs, the cached menu among them): there is
 * nothing to parse or check, and the two layers and the parser's own checks were measurable per
 * request. A body is announced by Content-Length (even 0) or Transfer-Encoding, the test
 * body-parser itself applies, so every request it would parse still goes through it.
 */
/**
 * Set on a request whose body the fast lane (fast-lane.ts) read but could not parse as JSON (or
 * whose JSON is not an object or array, which express's strict parser refuses): `readInput` passes
 * it on as the parser's own error, so express answers 400 invalid_json exactly as before.
 */
export const LANE_BODY_ERROR = Symbol('fast lane body error');

export function readInput(parseJson: RequestHandler): RequestHandler {
  return (req, res, next) => {
    // The fast lane read this body and it was not JSON: the parser's own error, as if it had read it.
    const laneError = (req as { [LANE_BODY_ERROR]?: unknown })[LANE_BODY_ERROR];
    if (laneError !== undefined) {
      next(laneError);
      return;
    }
    const hasBody = req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
    if (!hasBody && !req.url.includes('?')) {
      next();
      return;
    }
    parseJson(req, res, (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      // Called back after the body arrived, outside express's own try: pass a refusal on.
      try {
        refuseUnstorableInput(req, res, next);
      } catch (refusal) {
        next(refusal);
      }
    });
  };
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

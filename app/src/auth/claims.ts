/**
 * The claims an access token must carry. Tokens are issued by the identity service outside this
 * repo; this schema is the contract with it (shared by the API and the websocket service).
 *
 * - `role`: `guest` (a diner at a table), `staff`, `manager`, or `kitchen` (a kitchen screen: a
 *   device principal that reads the kitchen queue and moves orders through preparation, nothing else).
 * - `restaurant_id`: the restaurant the principal belongs to (a bigint id, as a decimal string or number).
 * - `table_id`: required for guests, since a guest orders only for its own table.
 * A token that fails this schema is an invalid credential: 401 `invalid_token`, like a bad signature.
 */
import { z } from 'zod';

export const ROLES = ['guest', 'staff', 'manager', 'kitchen'] as const;
export type Role = (typeof ROLES)[number];

/** A positive bigint id, normalized to its decimal string (ids exceed 2^53 in principle). */
const databaseId = z
  .union([z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a positive integer id'), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)])
  .transform((v) => String(v));

export const authClaimsSchema = z
  .object({
    sub: z.string().min(1).max(200),
    role: z.enum(ROLES),
    restaurant_id: databaseId,
    table_id: databaseId.optional(),
  })
  .superRefine((claims, ctx) => {
    if (claims.role === 'guest' && claims.table_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['table_id'], message: 'is required for guests' });
    }
  });

export type AuthClaims = z.infer<typeof authClaimsSchema>;

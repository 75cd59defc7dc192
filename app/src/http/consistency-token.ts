/**
 * The HTTP side of client-carried read-your-writes (see db/request-consistency.ts): read the
 * `X-Consistency-Token` request header into the request's scope, and put the position this
 * request's writes reached into the same response header.
 *
 * The header is set just before the head is written (a `writeHead` wrapper, what the `on-headers`
 * package does), because the write that produces it finishes inside the route, after the route
 * has no more say over headers than `res.json`. A malformed token is ignored: it costs a fresh
 * read, never an error. A forged high position only keeps that client's own reads on the primary.
 */
import type { RequestHandler } from 'express';
import { decodeReadYourWritesToken, encodeReadYourWritesToken } from '../db/read-your-writes';
import { CONSISTENCY_TOKEN_HEADER, runInConsistencyScope, type ConsistencyScope } from '../db/request-consistency';

export function consistencyToken(): RequestHandler {
  return (req, res, next) => {
    const scope: ConsistencyScope = { incoming: decodeReadYourWritesToken(req.get(CONSISTENCY_TOKEN_HEADER))?.walPosition };
    const writeHead = res.writeHead;
    res.writeHead = function writeHeadWithToken(this: typeof res, ...args: Parameters<typeof res.writeHead>) {
      if (scope.written !== undefined) this.setHeader(CONSISTENCY_TOKEN_HEADER, encodeReadYourWritesToken({ walPosition: scope.written }));
      return writeHead.apply(this, args);
    } as typeof res.writeHead;
    runInConsistencyScope(scope, next);
  };
}

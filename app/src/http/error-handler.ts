/**
 * The one error handler. Every error body is `{ error: { code, message, details?, requestId } }`.
 * - AppError: its status, code, message, details and headers.
 * - ZodError (a schema parse in a route): 400 `validation_failed` naming every field.
 * - body-parser errors: malformed JSON 400 `invalid_json`, too large 413, other 4xx as themselves.
 * - Anything else: 500 `internal` with the message `internal error`; the error and its stack go to
 *   the log, never to the client. 5xx AppErrors keep their code and message (they are written for
 *   clients) but are logged as well.
 */
import type { ErrorRequestHandler, Request } from 'express';
import { ZodError } from 'zod';
import { AppError } from '../errors';
import type { Logger } from '../logger';

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  readonly expose?: boolean;
}

export function requestIdOf(req: Request): string | undefined {
  return (req as Request & { id?: string }).id;
}

function toAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) {
    const fields = error.issues.map((issue) => ({ field: issue.path.map(String).join('.') || '(root)', message: issue.message }));
    return new AppError('validation_failed', fields.map((f) => `${f.field}: ${f.message}`).join('; '), 400, { details: { fields } });
  }
  const bodyError = error as BodyParserError | undefined;
  if (bodyError && typeof bodyError.type === 'string' && typeof bodyError.status === 'number') {
    if (bodyError.type === 'entity.parse.failed') return new AppError('invalid_json', 'request body is not valid JSON', 400);
    if (bodyError.type === 'entity.too.large') return new AppError('payload_too_large', 'request body is too large', 413);
    if (bodyError.status >= 400 && bodyError.status < 500) return new AppError('bad_request', `request body rejected (${bodyError.type})`, bodyError.status);
  }
  return undefined;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      // Too late for a body: let express end the connection.
      next(error);
      return;
    }
    const requestId = requestIdOf(req);
    const known = toAppError(error);
    const status = known?.httpStatus ?? 500;
    if (status >= 500) logger.error({ err: error, requestId, method: req.method, path: req.path }, 'request failed');
    const body = known
      ? { code: known.code, message: known.message, ...(known.details ? { details: known.details } : {}), requestId }
      : { code: 'internal', message: 'internal error', requestId };
    if (known) res.set(known.headers);
    res.status(status).json({ error: body });
  };
}

/**
 * The one error handler. Every error body is `{ error: { code, message, details?, requestId } }`.
 * - AppError: its status, code, message, details and headers.
 * - ZodError (a schema parse in a route): 400 `validation_failed` naming every field.
 * - body-parser and router errors (http-errors with a 4xx status): malformed JSON 400
 *   `invalid_json`, too large 413, a body that does not match its Content-Encoding 400
 *   `invalid_content_encoding`, an unknown encoding or charset 415, any other 4xx as itself. A
 *   client can never cause a 500 with a malformed request (the 5xx ratio pages the on-call).
 * - A body validation failure of a request whose body was not JSON (Content-Type text/plain, a
 *   form): 415 `unsupported_media_type`, which says what was wrong.
 * - Anything else: 500 `internal` with the message `internal error`; the error and its stack go to
 *   the log, never to the client. 5xx AppErrors keep their code and message (they are written for
 *   clients) but are logged as well.
 */
import type { ErrorRequestHandler, Request } from 'express';
import { ZodError } from 'zod';
import { AppError } from '../errors';
import type { Logger } from '../logger';

/**
 * What body-parser and the router attach to their errors (http-errors): `type` names the failure
 * (`entity.parse.failed`); some 4xx errors carry only a status (a Content-Encoding the body does
 * not match is a zlib error with status 400; a malformed %-escape in the path is a URIError with
 * status 400).
 */
interface HttpLikeError {
  readonly type?: string;
  readonly status?: number;
  readonly statusCode?: number;
  readonly expose?: boolean;
}

export function requestIdOf(req: Request): string | undefined {
  return (req as Request & { id?: string }).id;
}

function toAppError(error: unknown, req: Request): AppError | undefined {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) {
    const fields = error.issues.map((issue) => ({ field: issue.path.map(String).join('.') || '(root)', message: issue.message }));
    return new AppError('validation_failed', fields.map((f) => `${f.field}: ${f.message}`).join('; '), 400, { details: { fields } });
  }
  const httpError = error as HttpLikeError | undefined;
  const status = httpError?.status ?? httpError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (httpError!.type === 'entity.parse.failed') return new AppError('invalid_json', 'request body is not valid JSON', 400);
    if (httpError!.type === 'entity.too.large') return new AppError('payload_too_large', 'request body is too large', 413);
    if (httpError!.type === 'encoding.unsupported') return new AppError('unsupported_content_encoding', 'Content-Encoding must be gzip, deflate, br or none', 415);
    if (httpError!.type === 'charset.unsupported') return new AppError('unsupported_charset', 'request body charset must be utf-8', 415);
    const contentEncoding = req.get('content-encoding')?.trim().toLowerCase();
    if (httpError!.type === undefined && contentEncoding !== undefined && contentEncoding !== 'identity') {
      // The decompressor's own error (zlib, brotli): the body is not what its header says.
      return new AppError('invalid_content_encoding', `request body is not valid ${contentEncoding} (Content-Encoding)`, 400);
    }
    if (error instanceof URIError) return new AppError('bad_request', 'request path has a malformed %-escape', 400);
    // Any other client error (aborted or short bodies among them): its own status, nothing internal.
    return new AppError('bad_request', `request rejected${typeof httpError!.type === 'string' ? ` (${httpError!.type})` : ''}`, status);
  }
  return undefined;
}

/**
 * A body came with a Content-Type the JSON parser does not take (text/plain, a form), so the route
 * saw no body at all: its validation errors would only list missing fields.
 */
function unparsedBody(req: Request): boolean {
  const hasBody = req.get('transfer-encoding') !== undefined || (req.get('content-length') ?? '0') !== '0';
  return hasBody && req.body === undefined && !req.is('json');
}

function namesBodyField(error: AppError): boolean {
  const fields = (error.details as { fields?: { field?: unknown }[] } | undefined)?.fields ?? [];
  return fields.some((f) => typeof f.field === 'string' && /^body(\.|$)/.test(f.field));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      // Too late for a body: let express end the connection.
      next(error);
      return;
    }
    const requestId = requestIdOf(req);
    let known = toAppError(error, req);
    if (known?.code === 'validation_failed' && namesBodyField(known) && unparsedBody(req)) {
      known = new AppError('unsupported_media_type', 'request body must be JSON sent with Content-Type: application/json', 415);
    }
    const status = known?.httpStatus ?? 500;
    if (status >= 500) logger.error({ err: error, requestId, method: req.method, path: req.path }, 'request failed');
    const body = known
      ? { code: known.code, message: known.message, ...(known.details ? { details: known.details } : {}), requestId }
      : { code: 'internal', message: 'internal error', requestId };
    if (known) res.set(known.headers);
    res.status(status).json({ error: body });
  };
}

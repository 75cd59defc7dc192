/**
 * The one error type of the HTTP service. Routes and services throw an AppError (usually through
 * the helpers below); the error handler (`http/error-handler.ts`) turns it into
 * `{ error: { code, message, details?, requestId } }` with its status. Anything else that reaches
 * the handler is a bug or an outage: a 500 that reveals nothing.
 */

export interface AppErrorOptions {
  /** Safe to show a client (e.g. `{ field: 'quantity' }`). Never put internals here. */
  readonly details?: Record<string, unknown>;
  /** Response headers that belong to the error (WWW-Authenticate, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

export class AppError extends Error {
  readonly details?: Record<string, unknown>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    /** Stable, machine-readable (`validation_failed`, `not_found`); clients branch on it. */
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!Number.isInteger(httpStatus) || httpStatus < 400 || httpStatus > 599) {
      throw new Error(`httpStatus must be an integer in 400..599, got ${httpStatus}`);
    }
    this.name = 'AppError';
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** 400 naming the offending field (`items[2].quantity`, `query.limit`). */
export function validationError(field: string, message: string): AppError {
  return new AppError('validation_failed', `${field}: ${message}`, 400, { details: { fields: [{ field, message }] } });
}

export function notFound(what = 'resource'): AppError {
  return new AppError('not_found', `${what} not found`, 404);
}

/** 401 with the RFC 6750 challenge; `invalid_token` once a token was presented. */
export function unauthorized(message = 'authentication required', tokenPresented = false): AppError {
  const challenge = tokenPresented ? `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"` : 'Bearer';
  return new AppError(tokenPresented ? 'invalid_token' : 'unauthorized', message, 401, { headers: { 'WWW-Authenticate': challenge } });
}

export function forbidden(message = 'forbidden'): AppError {
  return new AppError('forbidden', message, 403);
}

export function conflict(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('conflict', message, 409, { details });
}

export function unprocessable(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('unprocessable', message, 422, { details });
}

export function tooManyRequests(retryAfterSeconds: number): AppError {
  return new AppError('rate_limited', 'too many requests', 429, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
}

export function serviceUnavailable(message = 'service unavailable', retryAfterSeconds?: number, details?: Record<string, unknown>): AppError {
  const headers = retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) };
  return new AppError('unavailable', message, 503, { headers, details });
}

/**
 * What the manager (and the API's error handler) needs to know about a failed database call:
 * whether the connection is gone (retry a read elsewhere, never reuse the client), whether the
 * pool was exhausted (overload: answer 503, do not pile the load onto the primary), and whether a
 * transaction lost a serialization race (safe to run again).
 */

/** SQLSTATE codes the manager acts on (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const SQLSTATE = {
  queryCanceled: '57014',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  databaseDropped: '57P04',
} as const;

const CONNECTION_SQLSTATES = new Set<string>([SQLSTATE.adminShutdown, SQLSTATE.crashShutdown, SQLSTATE.cannotConnectNow]);

const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** node-postgres reports a lost connection with messages, not codes. */
const DRIVER_CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Query read timeout',
];

/** pg-pool's message when no client became free within `connectionTimeoutMillis`. */
const POOL_EXHAUSTED_MESSAGE = 'timeout exceeded when trying to connect';

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The SQLSTATE of an error the server sent, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = codeOf(error);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The connection is unusable or was never made: the server is down, unreachable, or shutting down. */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  const code = codeOf(error);
  if (code !== undefined && (SOCKET_ERROR_CODES.has(code) || CONNECTION_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return DRIVER_CONNECTION_MESSAGES.some((m) => message.startsWith(m));
}

/** Every client of the pool stayed busy for the whole acquire timeout. */
export function isPoolExhausted(error: unknown): boolean {
  return error instanceof Error && error.message === POOL_EXHAUSTED_MESSAGE;
}

/** A transaction that lost a serialization or deadlock race; running it again may succeed. */
export function isRetryableTransactionError(error: unknown): boolean {
  const state = sqlState(error);
  return state === SQLSTATE.serializationFailure || state === SQLSTATE.deadlockDetected;
}

/**
 * A query cancelled on a hot standby because replay needed what it was reading (SERIALIZABLE is
 * not allowed on a standby, so 40001 there always means a recovery conflict). The primary has no
 * such conflict, so the read is retried there.
 */
export function isRecoveryConflict(error: unknown): boolean {
  const state = sqlState(error);
  return state === SQLSTATE.serializationFailure || state === SQLSTATE.databaseDropped;
}

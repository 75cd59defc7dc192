/**
 * Calls to the order API (app/src/*-routes.ts) with the session's bearer token in the
 * `Authorization` header, never in the URL. The read-your-writes token the API returns
 * (`X-Consistency-Token`, app/src/http/consistency-token.ts) is sent back on the next request, so a
 * screen that just changed an order never reads it back from a lagging replica.
 *
 * Two failure kinds the pages treat differently: `ApiError` (the API answered with an error) and
 * `NetworkError` (no answer: offline, DNS, a dropped connection, a CORS refusal). Only the second
 * means "try again later" for an order in the offline queue.
 */

/** The header name of app/src/db/request-consistency.ts. */
const CONSISTENCY_TOKEN_HEADER = 'X-Consistency-Token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

export interface ApiRequest {
  readonly method?: 'GET' | 'POST' | 'PATCH';
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface ApiClient {
  /** The parsed JSON body of a 2xx answer; throws ApiError or NetworkError otherwise. */
  request<T>(path: string, init?: ApiRequest): Promise<T>;
}

export function createApiClient(baseUrl: string, token: () => string | undefined): ApiClient {
  let consistencyToken: string | undefined;
  return {
    async request<T>(path: string, init: ApiRequest = {}): Promise<T> {
      const headers: Record<string, string> = { Accept: 'application/json', ...init.headers };
      const bearer = token();
      if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
      if (consistencyToken !== undefined) headers[CONSISTENCY_TOKEN_HEADER] = consistencyToken;
      if (init.body !== undefined) headers['Content-Type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(`${baseUrl}${path}`, {
          method: init.method ?? 'GET',
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          // Bearer tokens only: no cookie is ever sent to the API.
          credentials: 'omit',
          signal: init.signal,
        });
      } catch (error) {
        if ((error as Error).name === 'AbortError') throw error;
        throw new NetworkError(`${init.method ?? 'GET'} ${path}: no answer from the API`);
      }
      consistencyToken = response.headers.get(CONSISTENCY_TOKEN_HEADER) ?? consistencyToken;
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        // The connection dropped mid-body, or a proxy answered with something else.
        if (response.ok) throw new NetworkError(`${init.method ?? 'GET'} ${path}: the answer was cut off`);
        body = undefined;
      }
      if (!response.ok) {
        const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
        throw new ApiError(response.status, typeof error?.code === 'string' ? error.code : 'http_error', typeof error?.message === 'string' ? error.message : `HTTP ${response.status}`);
      }
      return body as T;
    },
  };
}

/** A 5xx, 429 or 409 "in progress": the same request may succeed later. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (!(error instanceof ApiError)) return false;
  return error.status >= 500 || error.status === 429 || (error.status === 409 && error.code === 'conflict');
}

/**
 * The location's addresses, read at start from `/config.json` (contract/web-delivery.ts): the same
 * build serves every location, and the data stack (or the local platform) writes what differs.
 * The service worker keeps the last copy (NetworkFirst), so an offline reload still finds it.
 */
import { WEB_RUNTIME_CONFIG_FILE, type WebRuntimeConfig } from '../../../../contract/web-delivery';

let loading: Promise<WebRuntimeConfig> | undefined;

function parse(json: unknown): WebRuntimeConfig {
  const value = json as Partial<Record<keyof WebRuntimeConfig, unknown>> | null;
  if (typeof value?.apiBaseUrl !== 'string' || typeof value.websocketUrl !== 'string') {
    throw new Error(`/${WEB_RUNTIME_CONFIG_FILE} must have apiBaseUrl and websocketUrl strings`);
  }
  return { apiBaseUrl: value.apiBaseUrl.replace(/\/+$/, ''), websocketUrl: value.websocketUrl };
}

export function runtimeConfig(): Promise<WebRuntimeConfig> {
  loading ??= fetch(`/${WEB_RUNTIME_CONFIG_FILE}`, { credentials: 'same-origin' }).then(async (response) => {
    if (!response.ok) throw new Error(`/${WEB_RUNTIME_CONFIG_FILE}: HTTP ${response.status}`);
    return parse(await response.json());
  });
  // A failed load is retried by the next caller (the connection may be back).
  loading.catch(() => (loading = undefined));
  return loading;
}

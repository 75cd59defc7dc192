/**
 * The guest route's first menu request, started by the entry (main.tsx) as soon as the runtime
 * config is in, while the route's chunk is still on its way: on a slow phone network that is one
 * round trip less before the menu (and its first photo, the page's largest paint) can show.
 * The guest page takes the answer once; later loads (reconnects, the service worker's warm-up)
 * ask the API themselves.
 */
import { menuPath, type Menu } from '../guest/menu';
import { createApiClient } from './api';
import { runtimeConfig } from './runtime-config';
import { sessionToken } from './session';

let pending: { readonly restaurantId: string; readonly menu: Promise<Menu> } | undefined;
let bypassedWorker = false;

export function prefetchMenu(restaurantId: string): void {
  // On a first visit no service worker controls the page yet, so this answer is not in its cache.
  bypassedWorker = !navigator.serviceWorker?.controller;
  const menu = runtimeConfig().then((config) => createApiClient(config.apiBaseUrl, sessionToken).request<Menu>(menuPath(restaurantId)));
  // Nobody may be waiting yet: a failure is seen by the page when it takes the promise.
  menu.catch(() => undefined);
  pending = { restaurantId, menu };
}

/** The prefetched menu of this restaurant, once; undefined when there is none (or it was taken). */
export function takePrefetchedMenu(restaurantId: string): Promise<Menu> | undefined {
  const taken = pending?.restaurantId === restaurantId ? pending.menu : undefined;
  pending = undefined;
  return taken;
}

/**
 * Whether the prefetched menu went around the service worker (none controlled the page): the page
 * then asks again once a worker controls it, so an offline reload finds the menu in its cache.
 */
export function prefetchBypassedWorker(): boolean {
  return bypassedWorker;
}

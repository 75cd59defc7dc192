/**
 * Registers the service worker the build generates (app/web/build.ts: the precached app shell, and
 * the last runtime config and menu for offline reloads). After the page's load event, so its
 * precaching never competes with what the page needs first. Its scope is the whole site: it is
 * served from the root (`/sw.js`, contract/web-delivery.ts).
 *
 * The page's first requests happened before the worker existed, so nothing of them is in its
 * caches. When it takes control (`controllerchange`), the runtime config is fetched once more
 * through it; the guest page does the same with the menu.
 */
import { WEB_RUNTIME_CONFIG_FILE, WEB_SERVICE_WORKER_FILE } from '../../../../contract/web-delivery';

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    fetch(`/${WEB_RUNTIME_CONFIG_FILE}`).catch(() => undefined);
  });
  const register = () => {
    navigator.serviceWorker.register(`/${WEB_SERVICE_WORKER_FILE}`, { scope: '/' }).catch(() => {
      // No service worker (storage disabled, an insecure origin): the app works online without it.
    });
  };
  if (document.readyState === 'complete') register();
  else addEventListener('load', register, { once: true });
}

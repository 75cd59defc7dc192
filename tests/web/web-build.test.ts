/**
 * The web client's build (app/web/build.ts): what its up-to-date stamp covers, and what the
 * generated service worker precaches and caches at run time (never an order answer).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RouteMatchCallbackOptions } from 'workbox-core/types';
import { importedOutsideWebRoot, serviceWorkerOptions, WEB_DIST_DIR } from '../../app/web/build';
import { GUEST_ROUTE_SOURCE, KITCHEN_ROUTE_SOURCE, readBuildManifest } from '../../app/web/bundle-budget';

const REPO = path.resolve(__dirname, '../..');

describe('the build stamp', () => {
  test('covers the files outside app/web that the bundle reads, not the API types the client only imports as types', () => {
    const files = importedOutsideWebRoot().map((file) => path.relative(REPO, file));
    expect(files).toEqual(expect.arrayContaining(['app/src/realtime/client.ts', 'app/src/realtime/protocol.ts', 'app/src/realtime/stream-ids.ts', 'contract/web-delivery.ts']));
    expect(files).not.toContain('app/src/menu/menu-service.ts');
    expect(files).not.toContain('app/src/events/order-events.ts');
  });
});

describe('the service worker', () => {
  const options = serviceWorkerOptions(WEB_DIST_DIR);
  const origin = 'https://cdn.downtown.example.com';
  const api = 'https://api.downtown.example.com';
  /** The runtime cache a request would go to, or undefined when the worker leaves it to the network. */
  const cacheFor = (url: string, method = 'GET', destination = ''): string | undefined => {
    const parsed = new URL(url);
    const request = { method, destination, url } as unknown as Request;
    const match = options.runtimeCaching!.find((route) => {
      const pattern = route.urlPattern;
      if (pattern instanceof RegExp) {
        const found = pattern.exec(url);
        return method === 'GET' && found !== null && (parsed.origin === origin || found.index === 0);
      }
      if (typeof pattern === 'function') return Boolean(pattern({ url: parsed, request, sameOrigin: parsed.origin === origin } as RouteMatchCallbackOptions));
      return false;
    });
    return match?.options?.cacheName ?? undefined;
  };

  test('keeps the runtime config, the menu and menu photos', () => {
    expect(cacheFor(`${origin}/config.json`)).toBe('runtime-config');
    expect(cacheFor(`${api}/v1/restaurants/4/menu`)).toBe('menu');
    expect(cacheFor(`${origin}/menu-images/4/17/0123456789abcdef-640.avif`, 'GET', 'image')).toBe('menu-images');
  });

  test.each([
    ['an order answer', `${api}/v1/restaurants/4/orders`, 'POST'],
    ['an order', `${api}/v1/restaurants/4/orders/9`, 'GET'],
    ['an order status', `${api}/v1/restaurants/4/orders/9/status`, 'GET'],
    ['a status change', `${api}/v1/restaurants/4/orders/9/status`, 'PATCH'],
    ['the kitchen queue', `${api}/v1/restaurants/4/kitchen/queue`, 'GET'],
    ['a menu edit', `${api}/v1/restaurants/4/menu`, 'POST'],
    ["another site's config.json", 'https://evil.example.com/config.json', 'GET'],
  ])('never stores %s', (_case, url, method) => {
    expect(cacheFor(url, method)).toBeUndefined();
  });

  test('answers the client routes with the precached shell, nothing else', () => {
    const allow = options.navigateFallbackAllowlist!;
    for (const route of ['/t/4/17', '/kitchen/4']) expect(allow.some((pattern) => pattern.test(route))).toBe(true);
    for (const route of ['/v1/restaurants/4/menu', '/ws', '/tables/4', '/kitchenette']) expect(allow.some((pattern) => pattern.test(route))).toBe(false);
  });

  test("the built worker precaches the shell and the guest route, not the kitchen's chunk", () => {
    const worker = fs.readFileSync(path.join(WEB_DIST_DIR, 'sw.js'), 'utf8');
    const manifest = readBuildManifest(WEB_DIST_DIR);
    expect(worker).toContain('url:"index.html"');
    expect(worker).toContain(`url:"${manifest[GUEST_ROUTE_SOURCE]!.file}"`);
    expect(worker).not.toContain(manifest[KITCHEN_ROUTE_SOURCE]!.file);
  });
});

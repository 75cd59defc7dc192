/**
 * The guest and kitchen web client in a real browser (Debian's chromium through playwright-core,
 * tools/browser/chromium.ts) against the local platform through its nginx (tools/local/platform.ts:
 * PostgreSQL, Redis, one api and one ws process from app/dist, the build from app/web/dist served
 * as CloudFront serves it). One platform and one browser for the file; each case opens its own
 * contexts (a guest's phone, a kitchen screen), which share nothing.
 *
 * Every wait is for something the page shows or the database holds, never for a time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page, Request, WebSocket as PageSocket } from 'playwright-core';
import sharp from 'sharp';
import { launchChromium } from '../../tools/browser/chromium';
import { guestPageUrl, kitchenPageUrl } from '../../tools/local/local-web';
import { startLocalPlatform, type LocalPlatform } from '../../tools/local/platform';
import type { SeededRestaurant } from '../../tools/local/seed';

/*
 * The functions given to page.evaluate run in the page. The root tsconfig has no DOM types (they
 * would clash with Node's), so the page globals those functions use are declared here, module-local,
 * as loosely as the tests need them.
 */
interface PageElement {
  readonly complete: boolean;
  readonly naturalWidth: number;
  readonly clientWidth: number;
  readonly currentSrc: string;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { readonly top: number };
}
declare const window: Record<string, unknown>;
declare const document: { querySelector(selector: string): PageElement | null };
declare const location: { readonly href: string };
declare const sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
declare const navigator: { readonly serviceWorker: { readonly controller: unknown } };
declare const caches: { open(name: string): Promise<{ keys(): Promise<readonly unknown[]> }> };
declare const innerHeight: number;
declare const PerformanceObserver: new (callback: (list: { getEntries(): { value: number; hadRecentInput: boolean }[] }) => void) => { observe(options: object): void };
declare const WebSocket: new (url: string, protocols?: string[]) => { onmessage: ((message: { data: unknown }) => void) | null; onerror: (() => void) | null; close(): void };

jest.setTimeout(90_000);

/** Long enough for a reconnect after a ws restart (the client's backoff reaches 10 s). */
const WAIT_MS = 30_000;
const PHONE = { viewport: { width: 412, height: 800 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };

let browser: Browser;
let platform: LocalPlatform;
let restaurant: SeededRestaurant;
let staffToken: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // First: a missing chromium fails every case at once, naming the package.
  browser = await launchChromium();
  platform = await startLocalPlatform({ apiProcesses: 1, wsProcesses: 1, logLevel: 'warn' });
  restaurant = platform.restaurants[0]!;
  expect(restaurant.tableIds.length).toBeGreaterThanOrEqual(6);
  staffToken = await platform.identity.token({ role: 'staff', restaurant_id: restaurant.id });
}, 180_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await platform?.stop();
});

const guestToken = (tableId: string) => platform.identity.token({ role: 'guest', restaurant_id: restaurant.id, table_id: tableId });

async function newContext(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ ...PHONE, ...options });
  contexts.push(context);
  return context;
}

async function api<T = unknown>(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${platform.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as T };
}

async function placeOrderViaApi(tableId: string, itemIds: readonly string[]): Promise<{ id: string; created_at: string }> {
  const { status, body } = await api<{ id: string; created_at: string }>(
    'POST',
    `/v1/restaurants/${restaurant.id}/orders`,
    await guestToken(tableId),
    { table_id: tableId, items: itemIds.map((id) => ({ menu_item_id: id, quantity: 1 })) },
    { 'Idempotency-Key': `test-${tableId}-${itemIds.join('-')}-${Date.now()}` },
  );
  expect(status).toBe(201);
  return body;
}

async function setStatusViaApi(orderId: string, status: string): Promise<void> {
  const response = await api('PATCH', `/v1/restaurants/${restaurant.id}/orders/${orderId}/status`, staffToken, { status });
  expect(response.status).toBe(200);
}

async function db<T>(sql: string): Promise<T[]> {
  return platform.cluster.admin<T>(sql);
}

/** How many menu requests the platform's nginx has logged (its access log is JSON lines). */
function menuRequestsSeenByNginx(): number {
  const log = fs.readFileSync(path.join(path.dirname(platform.nginxConfigFile), 'access.log'), 'utf8');
  return log.split('\n').filter((line) => line.includes(`"uri":"/v1/restaurants/${restaurant.id}/menu"`)).length;
}

async function openGuest(context: BrowserContext, tableId: string, token?: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(guestPageUrl(platform.baseUrl, restaurant.id, tableId, token ?? (await guestToken(tableId))));
  return page;
}

async function addAndOrder(page: Page, count: number): Promise<void> {
  const add = page.locator('article[data-item-id] button[aria-label^="Add "]');
  await add.first().waitFor({ timeout: WAIT_MS });
  for (let i = 0; i < count; i++) await add.nth(i).click();
  await page.getByRole('button', { name: /^Place order/ }).click();
}

const orderRow = (page: Page, orderId: string, status?: string) =>
  page.locator(`li[data-order-id="${orderId}"]${status === undefined ? '' : `[data-status="${status}"]`}`);

describe('ordering and live status', () => {
  let guestPage: Page;
  let kitchenPage: Page;
  let orderId: string;
  let guestJwt: string;
  const guestRequests: Request[] = [];
  const guestSockets: PageSocket[] = [];
  const guestConsole: string[] = [];
  const table = () => restaurant.tableIds[0]!;

  beforeAll(async () => {
    const kitchenContext = await newContext({ viewport: { width: 1024, height: 768 }, isMobile: false, hasTouch: false });
    kitchenPage = await kitchenContext.newPage();
    await kitchenPage.goto(kitchenPageUrl(platform.baseUrl, restaurant.id, await platform.identity.token({ role: 'kitchen', restaurant_id: restaurant.id })));
    await kitchenPage.locator('.connection[data-live="true"]').waitFor({ timeout: WAIT_MS });

    const guestContext = await newContext();
    guestJwt = await guestToken(table());
    guestPage = await guestContext.newPage();
    guestPage.on('request', (request) => guestRequests.push(request));
    guestPage.on('websocket', (socket) => guestSockets.push(socket));
    guestPage.on('console', (message) => guestConsole.push(message.text()));
    await guestPage.goto(guestPageUrl(platform.baseUrl, restaurant.id, table(), guestJwt));
  });

  test('a guest orders two items; the kitchen shows the order without a reload, with both lines', async () => {
    await guestPage.evaluate(() => (window.loadedOnce = 'yes'));
    await kitchenPage.evaluate(() => (window.loadedOnce = 'yes'));
    await addAndOrder(guestPage, 2);
    const row = guestPage.locator('li[data-order-id]');
    await row.first().waitFor({ timeout: WAIT_MS });
    orderId = (await row.first().getAttribute('data-order-id'))!;

    const ticket = kitchenPage.locator(`li.ticket[data-order-id="${orderId}"]`);
    await ticket.waitFor({ timeout: WAIT_MS });
    await ticket.locator('ul > li').nth(1).waitFor({ timeout: WAIT_MS });
    expect(await ticket.locator('ul > li').count()).toBe(2);
    expect(await kitchenPage.evaluate(() => window.loadedOnce)).toBe('yes');

    const [stored] = await db<{ table_id: string; lines: number }>(
      `SELECT o.table_id::text, (SELECT count(*)::int FROM order_items i WHERE i.order_id = o.id) AS lines FROM orders o WHERE o.id = ${Number(orderId)}`,
    );
    expect(stored).toEqual({ table_id: table(), lines: 2 });
  });

  test('the kitchen moves it to preparing through the API; the guest page shows it without a reload', async () => {
    const ticket = kitchenPage.locator(`li.ticket[data-order-id="${orderId}"]`);
    await ticket.getByRole('button', { name: 'Accept' }).click();
    await kitchenPage.locator(`li.ticket[data-order-id="${orderId}"][data-status="confirmed"]`).waitFor({ timeout: WAIT_MS });
    await ticket.getByRole('button', { name: 'Start preparing' }).click();
    await kitchenPage.locator(`li.ticket[data-order-id="${orderId}"][data-status="preparing"]`).waitFor({ timeout: WAIT_MS });

    await orderRow(guestPage, orderId, 'preparing').waitFor({ timeout: WAIT_MS });
    expect(await orderRow(guestPage, orderId).locator('.status').textContent()).toBe('preparing');
    expect(await guestPage.evaluate(() => window.loadedOnce)).toBe('yes');
    const [stored] = await db<{ status: string }>(`SELECT status FROM orders WHERE id = ${Number(orderId)}`);
    expect(stored!.status).toBe('preparing');
  });

  test('while the websocket service is down the guest page polls, and the kitchen misses no order: it resumes and replays', async () => {
    const ws = platform.wss[0]!;
    await ws.kill('SIGTERM');
    await guestPage.locator('.connection[data-live="false"]').waitFor({ timeout: WAIT_MS });
    await kitchenPage.locator('.connection[data-live="false"]').waitFor({ timeout: WAIT_MS });

    // Changed while no socket is up: the guest page learns it by polling GET .../status.
    await setStatusViaApi(orderId, 'ready');
    await orderRow(guestPage, orderId, 'ready').waitFor({ timeout: WAIT_MS });

    // Created while the kitchen screen is disconnected: replayed from its last event id.
    const missed = await placeOrderViaApi(restaurant.tableIds[1]!, [restaurant.menuItemIds[0]!]);
    await ws.start();
    await kitchenPage.locator('.connection[data-live="true"]').waitFor({ timeout: WAIT_MS });
    await kitchenPage.locator(`li.ticket[data-order-id="${missed.id}"][data-status="pending"]`).waitFor({ timeout: WAIT_MS });
    await kitchenPage.locator(`li.ticket[data-order-id="${orderId}"][data-status="ready"]`).waitFor({ timeout: WAIT_MS });
    expect(await kitchenPage.evaluate(() => window.loadedOnce)).toBe('yes');
    await guestPage.locator('.connection[data-live="true"]').waitFor({ timeout: WAIT_MS });
  });

  test('the token left the address bar at once, and is in no URL the page requested, no console line and no nginx log line', async () => {
    expect(await guestPage.evaluate(() => location.href)).toBe(`${platform.baseUrl}/t/${restaurant.id}/${table()}`);
    expect(guestRequests.length).toBeGreaterThan(5);
    // The guest route never loads the kitchen route's chunk.
    expect(guestRequests.filter((r) => r.url().includes('/assets/KitchenPage-')).map((r) => r.url())).toEqual([]);
    expect(guestRequests.filter((r) => r.url().includes(guestJwt)).map((r) => r.url())).toEqual([]);
    const withAuthorization = await Promise.all(guestRequests.filter((r) => r.url().includes('/v1/')).map(async (r) => (await r.allHeaders()).authorization));
    expect(withAuthorization.length).toBeGreaterThan(0);
    expect(withAuthorization.every((header) => header === `Bearer ${guestJwt}`)).toBe(true);
    // The websocket carries it in a subprotocol (shared/live-updates.ts): the URL has none, so the
    // console's failed-handshake lines while the ws service was down and nginx's error log lines
    // for its 502s do not either.
    expect(guestSockets.length).toBeGreaterThan(1);
    for (const socket of guestSockets) expect(socket.url()).not.toContain(guestJwt);
    expect(guestConsole.some((line) => line.includes('/ws'))).toBe(true);
    expect(guestConsole.filter((line) => line.includes(guestJwt))).toEqual([]);
    const nginxDir = path.dirname(platform.nginxConfigFile);
    const logs = ['access.log', 'error.log'].map((file) => fs.readFileSync(path.join(nginxDir, file), 'utf8'));
    expect(logs[0]).toContain('"uri":"/ws"');
    expect(logs[1]).toMatch(/upstream/);
    expect(logs.filter((log) => log.includes(guestJwt.split('.')[2]!))).toEqual([]);
  });
});

describe('a guest token for one table and another table\'s order', () => {
  test('the page refuses a link for another table, drops a foreign order it was told to follow, and the API it calls refuses everything', async () => {
    const [tableOne, tableTwo] = [restaurant.tableIds[2]!, restaurant.tableIds[3]!];
    const foreign = await placeOrderViaApi(tableTwo, [restaurant.menuItemIds[1]!]);
    const tokenOne = await guestToken(tableOne);
    const context = await newContext({ serviceWorkers: 'block' });

    // Table two's page with table one's token: nothing to see or order.
    const wrongLink = await openGuest(context, tableTwo, tokenOne);
    await wrongLink.getByRole('heading', { name: 'This link is for another table' }).waitFor({ timeout: WAIT_MS });
    expect(await wrongLink.locator('article[data-item-id]').count()).toBe(0);
    expect(await wrongLink.getByRole('button', { name: /Place order/ }).count()).toBe(0);
    await wrongLink.close();

    // Table one's page, told (through its storage) to follow table two's order: the API answers
    // 404 for it, and the page stops showing it.
    const page = await openGuest(context, tableOne, tokenOne);
    await page.locator('article[data-item-id]').first().waitFor({ timeout: WAIT_MS });
    await page.evaluate(
      ([key, id]) => sessionStorage.setItem(key!, JSON.stringify([{ id, status: 'pending', summary: 'not mine', totalCents: 0 }])),
      [`restaurant.guest-orders:${restaurant.id}:${tableOne}`, foreign.id],
    );
    // Waited for from the page's own 404, not from the row: right after the reload the row is not
    // rendered yet, so "detached" alone could pass before the page ever showed it (a race the
    // faster menu made likely).
    const refused = page.waitForResponse((r) => r.url().endsWith(`/orders/${foreign.id}/status`) && r.status() === 404, { timeout: WAIT_MS });
    await page.reload();
    await refused;
    await orderRow(page, foreign.id).waitFor({ state: 'detached', timeout: WAIT_MS });
    await page.locator('article[data-item-id]').first().waitFor({ timeout: WAIT_MS });
    await page.getByText('not mine').waitFor({ state: 'detached', timeout: WAIT_MS });
    expect(await page.getByText('not mine').count()).toBe(0);

    // The API the page calls, from the page, with the page's token.
    const answers = await page.evaluate(
      async ({ restaurantId, orderId, tableTwoId, createdAt }) => {
        const token = sessionStorage.getItem('restaurant.session-token')!;
        const call = async (method: string, path: string, body?: unknown) => {
          const response = await fetch(path, {
            method,
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Idempotency-Key': `probe-${Math.random()}` },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: response.status, body: await response.json().catch(() => null) };
        };
        const base = `/v1/restaurants/${restaurantId}/orders`;
        return {
          status: (await call('GET', `${base}/${orderId}/status`)).status,
          order: (await call('GET', `${base}/${orderId}?include=items&created_at=${encodeURIComponent(createdAt)}`)).status,
          patch: (await call('PATCH', `${base}/${orderId}/status`, { status: 'cancelled' })).status,
          create: (await call('POST', base, { table_id: tableTwoId, items: [{ menu_item_id: '1', quantity: 1 }] })).status,
          listOther: (await call('GET', `${base}?table_id=${tableTwoId}`)).status,
          list: ((await call('GET', base)).body as { orders: { id: string }[] }).orders.map((o) => o.id),
        };
      },
      { restaurantId: restaurant.id, orderId: foreign.id, tableTwoId: tableTwo, createdAt: foreign.created_at },
    );
    expect(answers).toEqual({ status: 404, order: 404, patch: 403, create: 403, listOther: 403, list: [] });
    const [stored] = await db<{ status: string }>(`SELECT status FROM orders WHERE id = ${Number(foreign.id)}`);
    expect(stored!.status).toBe('pending');

    // The websocket the page would open: table two's events never reach table one's room. Events
    // arrive in stream order, so table one's own later event proves table two's was not sent.
    const events = page.evaluate(
      ({ wsUrl, token, ownTable }) =>
        new Promise<{ table: string | null; order: string }[]>((resolve, reject) => {
          const seen: { table: string | null; order: string }[] = [];
          const socket = new WebSocket(wsUrl, ['bearer', `bearer.${token}`]);
          socket.onmessage = (message) => {
            const data = JSON.parse(String(message.data)) as { type: string; event?: { table_id: string | null; order_id: string } };
            if (data.type === 'ready') window.socketReady = true;
            if (data.type !== 'event') return;
            seen.push({ table: data.event!.table_id, order: data.event!.order_id });
            if (data.event!.table_id === ownTable) {
              socket.close();
              resolve(seen);
            }
          };
          socket.onerror = () => reject(new Error('websocket failed'));
        }),
      { wsUrl: platform.wsUrl, token: tokenOne, ownTable: tableOne },
    );
    await page.waitForFunction(() => window.socketReady === true, undefined, { timeout: WAIT_MS });
    await setStatusViaApi(foreign.id, 'confirmed');
    const own = await placeOrderViaApi(tableOne, [restaurant.menuItemIds[2]!]);
    expect(await events).toEqual([{ table: tableOne, order: own.id }]);
  });
});

describe('offline', () => {
  test('an order placed offline is queued, survives a reload during the outage, and lands exactly once when the connection returns', async () => {
    const table = restaurant.tableIds[4]!;
    const context = await newContext();
    const page = await openGuest(context, table);
    await page.locator('article[data-item-id]').first().waitFor({ timeout: WAIT_MS });
    // The service worker controls the page and holds the runtime config and the menu.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: WAIT_MS });
    await page.waitForFunction(
      async () => (await (await caches.open('menu')).keys()).length > 0 && (await (await caches.open('runtime-config')).keys()).length > 0,
      undefined,
      { timeout: WAIT_MS, polling: 200 },
    );

    await context.setOffline(true);
    await addAndOrder(page, 1);
    const queued = page.locator('li[data-queued-key]');
    await queued.waitFor({ timeout: WAIT_MS });
    expect(await queued.locator('.status').textContent()).toBe('Queued');
    const key = (await queued.getAttribute('data-queued-key'))!;
    expect(key).toMatch(/^[0-9a-f-]{32,36}$/);

    // A reload during the outage: the app shell and the menu from the worker, the order from
    // IndexedDB. The HTTP cache is emptied first, so the worker's caches are the only copy left;
    // nginx seeing no menu request proves the worker did not reach the network either.
    const devtools = await context.newCDPSession(page);
    await devtools.send('Network.clearBrowserCache');
    await devtools.detach();
    const menuRequestsBefore = menuRequestsSeenByNginx();
    await page.reload();
    await page.locator(`li[data-queued-key="${key}"]`).waitFor({ timeout: WAIT_MS });
    await page.locator('article[data-item-id]').first().waitFor({ timeout: WAIT_MS });
    expect(menuRequestsSeenByNginx()).toBe(menuRequestsBefore);
    expect(await page.getByText('will be sent when you are back online').count()).toBe(1);
    expect(await db(`SELECT 1 FROM idempotency_keys WHERE key = '${key}'`)).toEqual([]);

    await context.setOffline(false);
    const sent = page.locator('li[data-order-id]');
    await sent.first().waitFor({ timeout: WAIT_MS });
    await page.locator('li[data-queued-key]').waitFor({ state: 'detached', timeout: WAIT_MS });
    const orderId = await sent.first().getAttribute('data-order-id');

    const rows = await db<{ order_id: string }>(`SELECT order_id::text FROM idempotency_keys WHERE restaurant_id = ${Number(restaurant.id)} AND key = '${key}'`);
    expect(rows).toEqual([{ order_id: orderId }]);
    const orders = await db<{ id: string }>(`SELECT id::text FROM orders WHERE restaurant_id = ${Number(restaurant.id)} AND table_id = ${Number(table)}`);
    expect(orders).toEqual([{ id: orderId }]);

    // Another reload sends nothing again.
    await page.reload();
    await orderRow(page, orderId!).waitFor({ timeout: WAIT_MS });
    expect(await db(`SELECT id FROM orders WHERE restaurant_id = ${Number(restaurant.id)} AND table_id = ${Number(table)}`)).toHaveLength(1);
  });

  test('an order whose answer was lost is sent again with the same key, and the API replays it: one order', async () => {
    const table = restaurant.tableIds[5]!;
    const context = await newContext({ serviceWorkers: 'block' });
    const keys: string[] = [];
    await context.route(`**/v1/restaurants/${restaurant.id}/orders`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      keys.push((await route.request().allHeaders())['idempotency-key']!);
      if (keys.length > 1) return route.continue();
      // The API takes the order, the answer never reaches the page.
      const response = await route.fetch();
      expect(response.status()).toBe(201);
      return route.abort('connectionreset');
    });
    const page = await openGuest(context, table);
    await addAndOrder(page, 1);
    await page.locator('li[data-queued-key]').waitFor({ timeout: WAIT_MS });
    const sent = page.locator('li[data-order-id]');
    await sent.first().waitFor({ timeout: WAIT_MS });
    expect(keys.length).toBe(2);
    expect(keys[1]).toBe(keys[0]);
    const orders = await db<{ id: string }>(`SELECT id::text FROM orders WHERE restaurant_id = ${Number(restaurant.id)} AND table_id = ${Number(table)}`);
    expect(orders).toEqual([{ id: await sent.first().getAttribute('data-order-id') }]);
  });
});

describe('menu photos', () => {
  /** Menu items in the order the page shows them. */
  let shown: string[];
  let withPhotos: { above: string[]; below: string[] };

  beforeAll(async () => {
    const menu = await api<{ categories: { items: { id: string }[] }[] }>('GET', `/v1/restaurants/${restaurant.id}/menu`, staffToken);
    shown = menu.body.categories.flatMap((c) => c.items.map((i) => i.id));
    withPhotos = { above: shown.slice(0, 2), below: shown.slice(-3) };
    // One distinct 700 px photo per item: variants of 320, 640 and 700 px in AVIF, WebP and JPEG.
    for (const [index, itemId] of [...withPhotos.above, ...withPhotos.below].entries()) {
      const photo = await sharp({ create: { width: 700, height: 460, channels: 3, background: { r: 40 * index, g: 120, b: 200 - 30 * index } } }).jpeg().toBuffer();
      const response = await fetch(`${platform.baseUrl}/v1/restaurants/${restaurant.id}/menu-items/${itemId}/image`, { method: 'POST', headers: { Authorization: `Bearer ${staffToken}` }, body: photo });
      expect(response.status).toBe(200);
    }
  });

  const photoRequests = (requests: readonly Request[], itemId: string) => requests.filter((r) => r.url().includes(`/menu-images/${restaurant.id}/${itemId}/`)).map((r) => r.url());

  async function openWithPhotos(viewport: { width: number; height: number }): Promise<{ page: Page; requests: Request[] }> {
    const context = await newContext({ viewport, serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.layoutShift = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          if (!entry.hadRecentInput) window.layoutShift = Number(window.layoutShift) + entry.value;
        }
      }).observe({ type: 'layout-shift', buffered: true });
    });
    const requests: Request[] = [];
    page.on('request', (request) => requests.push(request));
    await page.goto(guestPageUrl(platform.baseUrl, restaurant.id, restaurant.tableIds[0]!, await guestToken(restaurant.tableIds[0]!)));
    const first = page.locator(`article[data-item-id="${withPhotos.above[0]}"] img`);
    await first.waitFor({ timeout: WAIT_MS });
    await page.waitForFunction((id) => {
      const image = document.querySelector(`article[data-item-id="${id}"] img`);
      return image !== null && image.complete && image.naturalWidth > 0;
    }, withPhotos.above[1]);
    await page.waitForLoadState('networkidle');
    return { page, requests };
  }

  /** The narrowest variant at least as wide as the slot (chromium's choice at a density of 1). */
  const expectedWidth = (slotWidth: number) => [320, 640, 700].find((w) => w >= slotWidth) ?? 700;

  test('photos below the fold are not requested until scrolled into view; each photo is one AVIF of the width the viewport needs', async () => {
    const { page, requests } = await openWithPhotos({ width: 412, height: 800 });
    const last = withPhotos.below[withPhotos.below.length - 1]!;
    // Farther below the fold than chromium's lazy-loading margin (about 2,500 px at most on a fast connection).
    const distance = await page.evaluate((id) => document.querySelector(`article[data-item-id="${id}"]`)!.getBoundingClientRect().top - innerHeight, withPhotos.below[0]);
    expect(distance).toBeGreaterThan(3000);
    for (const itemId of withPhotos.below) expect(photoRequests(requests, itemId)).toEqual([]);

    const slot = await page.evaluate((id) => document.querySelector(`article[data-item-id="${id}"] img`)!.clientWidth, withPhotos.above[0]);
    expect(slot).toBe(412 - 32);
    for (const itemId of withPhotos.above) {
      expect(photoRequests(requests, itemId)).toEqual([expect.stringMatching(new RegExp(`-${expectedWidth(slot)}\\.avif$`))]);
    }
    const attributes = await page.evaluate((id) => {
      const image = document.querySelector(`article[data-item-id="${id}"] img`)!;
      return { width: image.getAttribute('width'), height: image.getAttribute('height'), loading: image.getAttribute('loading'), current: image.currentSrc };
    }, last);
    expect(attributes).toEqual({ width: '640', height: '360', loading: 'lazy', current: '' });

    await page.locator(`article[data-item-id="${last}"] img`).scrollIntoViewIfNeeded();
    await page.waitForFunction((id) => document.querySelector(`article[data-item-id="${id}"] img`)!.complete, last);
    expect(photoRequests(requests, last)).toEqual([expect.stringMatching(new RegExp(`-${expectedWidth(slot)}\\.avif$`))]);
    // The boxes had their size before the photos arrived: nothing moved.
    expect(await page.evaluate(() => window.layoutShift)).toBeLessThan(0.01);
  });

  test('a narrower phone gets the narrower variant', async () => {
    const { page, requests } = await openWithPhotos({ width: 320, height: 640 });
    const slot = await page.evaluate((id) => document.querySelector(`article[data-item-id="${id}"] img`)!.clientWidth, withPhotos.above[0]);
    expect(slot).toBe(320 - 32);
    expect(expectedWidth(slot)).toBe(320);
    expect(photoRequests(requests, withPhotos.above[0]!)).toEqual([expect.stringMatching(/-320\.avif$/)]);
    expect(await page.evaluate((id) => document.querySelector(`article[data-item-id="${id}"] img`)!.currentSrc, withPhotos.above[0])).toMatch(/-320\.avif$/);
  });
});

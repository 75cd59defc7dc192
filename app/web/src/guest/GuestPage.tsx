/**
 * The guest route, `/t/<restaurantId>/<tableId>`, opened from the table's QR code with a guest
 * token in the fragment (shared/session.ts): the menu with photos, a cart, ordering, and the
 * status of this session's orders.
 *
 * - Ordering: each order gets an Idempotency-Key when the guest presses "Place order" and goes
 *   through the offline queue (order-outbox.ts) before it is sent: without a connection it stays
 *   queued (the page says so), survives a reload, and is sent when the connection returns (the
 *   `online` event, and a retry every RETRY_INTERVAL_MS while anything is queued).
 * - Status: websocket events of the table's room (shared/live-updates.ts), resumed across
 *   reconnects and reloads from the last event id; while the socket is not live the page polls
 *   `GET /v1/restaurants/:restaurantId/orders/:orderId/status` every POLL_INTERVAL_MS. It also
 *   polls once whenever the socket becomes live, and on `resync`, so nothing between the order's
 *   answer and the socket's first event is missed.
 * - Offline: the service worker serves the app shell and the last menu (app/web/build.ts); the page
 *   itself only needs to know it is offline to say so.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { WebRuntimeConfig } from '../../../../contract/web-delivery';
import { ApiError, createApiClient, isRetryable, NetworkError, type ApiClient } from '../shared/api';
import { connectLiveUpdates } from '../shared/live-updates';
import { isFinal, laterStatus, STATUS_LABELS, type OrderStatus } from '../shared/order-status';
import { prefetchBypassedWorker, takePrefetchedMenu } from '../shared/menu-prefetch';
import { runtimeConfig } from '../shared/runtime-config';
import { endSession, isExpired, sessionClaims, sessionToken } from '../shared/session';
import { Notice } from '../shared/Notice';
import { MenuImage } from './MenuImage';
import { formatPrice, itemsById, menuPath, type Menu } from './menu';
import { enqueueOrder, QUEUED_ORDER_MAX_AGE_MS, queuedOrders, removeQueuedOrder, type QueuedOrder } from './order-outbox';
import { loadLastEventId, loadTrackedOrders, saveLastEventId, saveTrackedOrders, type TrackedOrder } from './tracked-orders';

const POLL_INTERVAL_MS = 5000;
const RETRY_INTERVAL_MS = 5000;
/** Photos of the first items load at once (the likely largest paint); the rest lazily. */
const EAGER_PHOTOS = 2;

interface Props {
  readonly restaurantId: string;
  readonly tableId: string;
}

/** What POST .../orders and GET .../status answer (the fields the page reads). */
interface OrderAnswer {
  readonly id: string;
  readonly status: OrderStatus;
  readonly total_cents?: number;
}

function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export default function GuestPage(props: Props) {
  const token = sessionToken();
  const claims = token === undefined ? undefined : sessionClaims(token);
  if (!claims) return <Notice title="Scan the code on your table">This page opens from the QR code on your table.</Notice>;
  if (claims.role !== 'guest' || claims.restaurantId !== props.restaurantId || claims.tableId !== props.tableId) {
    return <Notice title="This link is for another table">Scan the code on your own table to order.</Notice>;
  }
  if (isExpired(claims)) return <Notice title="Your session has ended">Scan the code on your table again to order.</Notice>;
  return <GuestOrdering restaurantId={props.restaurantId} tableId={props.tableId} />;
}

function GuestOrdering({ restaurantId, tableId }: Props) {
  const [config, setConfig] = useState<WebRuntimeConfig>();
  const [menu, setMenu] = useState<Menu>();
  const [problem, setProblem] = useState<string>();
  const [ended, setEnded] = useState(false);
  const [cart, setCart] = useState<Readonly<Record<string, number>>>({});
  const [orders, setOrders] = useState<TrackedOrder[]>(() => loadTrackedOrders(restaurantId, tableId));
  const [queue, setQueue] = useState<QueuedOrder[]>([]);
  const [online, setOnline] = useState(navigator.onLine);
  const [live, setLive] = useState(false);
  const api = useMemo<ApiClient | undefined>(() => (config ? createApiClient(config.apiBaseUrl, sessionToken) : undefined), [config]);
  const ordersRef = useRef(orders);
  ordersRef.current = orders;
  const ordersPath = `/v1/restaurants/${encodeURIComponent(restaurantId)}/orders`;

  const failed = useCallback((error: unknown) => {
    if (error instanceof ApiError && error.status === 401) {
      endSession();
      setEnded(true);
    } else if (error instanceof NetworkError) {
      setProblem('You are offline. The page catches up when the connection is back.');
    } else {
      setProblem((error as Error).message);
    }
  }, []);

  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    addEventListener('online', up);
    addEventListener('offline', down);
    return () => {
      removeEventListener('online', up);
      removeEventListener('offline', down);
    };
  }, []);

  useEffect(() => {
    if (!config) runtimeConfig().then(setConfig, () => setProblem('You are offline. The menu loads when the connection is back.'));
  }, [config, online]);

  const loadMenu = useCallback(async () => {
    if (!api) return;
    try {
      // The entry's early request, when there is one; if it failed (offline before the worker
      // answered it, say), ask again: the service worker's copy answers this one.
      const request = () => api.request<Menu>(menuPath(restaurantId));
      const prefetched = takePrefetchedMenu(restaurantId);
      setMenu(await (prefetched ? prefetched.catch(request) : request()));
      setProblem(undefined);
    } catch (error) {
      failed(error);
    }
  }, [api, restaurantId, failed]);

  useEffect(() => {
    if (!menu) void loadMenu();
  }, [menu, loadMenu, online]);

  // Once the service worker controls the page, fetch the menu again through it, so the copy an
  // offline reload reads is in its cache (the first load happened before it was installed).
  useEffect(() => {
    const worker = navigator.serviceWorker;
    if (!worker) return;
    const warm = () => void loadMenu();
    // The entry's early request may have gone out, and the worker taken control, before this ran.
    if (worker.controller && prefetchBypassedWorker()) warm();
    worker.addEventListener('controllerchange', warm);
    return () => worker.removeEventListener('controllerchange', warm);
  }, [loadMenu]);

  useEffect(() => saveTrackedOrders(restaurantId, tableId, orders), [restaurantId, tableId, orders]);

  const track = useCallback((order: TrackedOrder) => setOrders((current) => (current.some((o) => o.id === order.id) ? current : [...current, order])), []);
  const applyStatus = useCallback(
    (orderId: string, status: OrderStatus) => setOrders((current) => current.map((o) => (o.id === orderId ? { ...o, status: laterStatus(o.status, status) } : o))),
    [],
  );

  const refreshQueue = useCallback(async () => setQueue(await queuedOrders(restaurantId, tableId)), [restaurantId, tableId]);

  const flushing = useRef(false);
  const flush = useCallback(async () => {
    if (!api || flushing.current) return;
    flushing.current = true;
    try {
      for (const order of await queuedOrders(restaurantId, tableId)) {
        if (Date.now() - order.queuedAtMs > QUEUED_ORDER_MAX_AGE_MS) {
          await removeQueuedOrder(order.key);
          setProblem(`An order queued more than ${QUEUED_ORDER_MAX_AGE_MS / 60_000} minutes ago was not sent (${order.summary}). Please order again.`);
          continue;
        }
        try {
          const answer = await api.request<OrderAnswer>(ordersPath, { method: 'POST', body: order.body, headers: { 'Idempotency-Key': order.key } });
          // Tracked before it leaves the queue: a page that dies in between sends the key again
          // and gets the same order back.
          track({ id: answer.id, status: answer.status, summary: order.summary, totalCents: answer.total_cents ?? order.totalCents });
          await removeQueuedOrder(order.key);
        } catch (error) {
          if (isRetryable(error)) break;
          failed(error);
          if (error instanceof ApiError && error.status === 401) break;
          await removeQueuedOrder(order.key);
        }
      }
    } finally {
      flushing.current = false;
      await refreshQueue();
    }
  }, [api, restaurantId, tableId, ordersPath, track, failed, refreshQueue]);

  useEffect(() => {
    void refreshQueue();
  }, [refreshQueue]);
  useEffect(() => {
    if (online) void flush();
  }, [online, flush]);
  useEffect(() => {
    if (queue.length === 0) return;
    const timer = setInterval(() => void flush(), RETRY_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [queue.length, flush]);

  const pollStatuses = useCallback(async () => {
    if (!api) return;
    for (const order of ordersRef.current.filter((o) => !isFinal(o.status))) {
      try {
        applyStatus(order.id, (await api.request<OrderAnswer>(`${ordersPath}/${encodeURIComponent(order.id)}/status`)).status);
      } catch (error) {
        // Not this table's order (or gone): stop following it.
        if (error instanceof ApiError && error.status === 404) setOrders((current) => current.filter((o) => o.id !== order.id));
        else if (error instanceof ApiError && error.status === 401) return failed(error);
        else return;
      }
    }
  }, [api, ordersPath, applyStatus, failed]);

  const following = orders.some((o) => !isFinal(o.status));
  useEffect(() => {
    if (!config || !following) return;
    const updates = connectLiveUpdates({
      url: config.websocketUrl,
      token: sessionToken,
      lastId: loadLastEventId(restaurantId, tableId),
      onEvent: (event, id) => {
        saveLastEventId(restaurantId, tableId, id);
        applyStatus(event.order_id, event.status);
      },
      onLiveChange: setLive,
      onReady: ({ lastId }) => {
        saveLastEventId(restaurantId, tableId, lastId);
        void pollStatuses();
      },
      onResync: () => void pollStatuses(),
    });
    return () => {
      updates.close();
      setLive(false);
    };
  }, [config, following, restaurantId, tableId, applyStatus, pollStatuses]);

  useEffect(() => {
    if (live || !following) return;
    void pollStatuses();
    const timer = setInterval(() => void pollStatuses(), POLL_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [live, following, pollStatuses]);

  const byId = useMemo(() => (menu ? itemsById(menu) : new Map<string, Menu['categories'][number]['items'][number]>()), [menu]);
  const cartLines = Object.entries(cart)
    .filter(([id, quantity]) => quantity > 0 && byId.has(id))
    .map(([id, quantity]) => ({ item: byId.get(id)!, quantity }));
  const cartTotal = cartLines.reduce((sum, line) => sum + line.item.price_cents * line.quantity, 0);
  const changeQuantity = (itemId: string, delta: number) => setCart((current) => ({ ...current, [itemId]: Math.max(0, Math.min(50, (current[itemId] ?? 0) + delta)) }));

  const placeOrder = async () => {
    if (cartLines.length === 0) return;
    const order: QueuedOrder = {
      key: newIdempotencyKey(),
      restaurantId,
      tableId,
      body: { table_id: tableId, items: cartLines.map((line) => ({ menu_item_id: line.item.id, quantity: line.quantity })) },
      summary: cartLines.map((line) => `${line.quantity} × ${line.item.name}`).join(', '),
      totalCents: cartTotal,
      queuedAtMs: Date.now(),
    };
    try {
      await enqueueOrder(order);
    } catch {
      setProblem('This browser could not keep the order. Please ask the staff.');
      return;
    }
    setCart({});
    await refreshQueue();
    await flush();
  };

  if (ended) return <Notice title="Your session has ended">Scan the code on your table again to order.</Notice>;
  const currency = menu?.currency ?? 'USD';
  let photoIndex = 0;
  return (
    <main className="page">
      <header className="bar">
        <h1>Table {tableId}</h1>
        {following && (
          <p className="connection" data-live={live}>
            {live ? 'Live' : online ? 'Reconnecting' : 'Offline'}
          </p>
        )}
      </header>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {(queue.length > 0 || orders.length > 0) && (
        <section className="orders" aria-label="Your orders">
          <h2>Your orders</h2>
          <ul>
            {queue.map((order) => (
              <li key={order.key} data-queued-key={order.key}>
                <span>{order.summary}</span>
                <strong className="status">Queued</strong>
                <small>{online ? 'sending…' : 'will be sent when you are back online'}</small>
              </li>
            ))}
            {orders.map((order) => (
              <li key={order.id} data-order-id={order.id} data-status={order.status}>
                <span>
                  #{order.id} · {order.summary}
                </span>
                <strong className="status">{STATUS_LABELS[order.status]}</strong>
              </li>
            ))}
          </ul>
        </section>
      )}
      {!menu ? (
        <p className="muted">Loading the menu…</p>
      ) : (
        menu.categories
          .filter((category) => category.items.length > 0)
          .map((category) => (
            <section key={category.id} aria-labelledby={`category-${category.id}`}>
              <h2 id={`category-${category.id}`}>{category.name}</h2>
              {category.items.map((item) => (
                <article key={item.id} className="item" data-item-id={item.id}>
                  {item.image_keys && Object.keys(item.image_keys).length > 0 && <MenuImage imageKeys={item.image_keys} alt={item.name} eager={photoIndex++ < EAGER_PHOTOS} />}
                  <div className="item-text">
                    <h3>{item.name}</h3>
                    {item.description && <p className="muted">{item.description}</p>}
                  </div>
                  <div className="item-order">
                    <span>{formatPrice(item.price_cents, currency)}</span>
                    <button type="button" onClick={() => changeQuantity(item.id, 1)} aria-label={`Add ${item.name}`}>
                      Add{cart[item.id] ? ` (${cart[item.id]})` : ''}
                    </button>
                  </div>
                </article>
              ))}
            </section>
          ))
      )}
      {cartLines.length > 0 && (
        <section className="cart" aria-label="Cart">
          <ul>
            {cartLines.map(({ item, quantity }) => (
              <li key={item.id}>
                <button type="button" onClick={() => changeQuantity(item.id, -1)} aria-label={`One less ${item.name}`}>
                  −
                </button>
                <span>
                  {quantity} × {item.name}
                </span>
              </li>
            ))}
          </ul>
          <button type="button" className="primary" onClick={() => void placeOrder()}>
            Place order · {formatPrice(cartTotal, currency)}
          </button>
        </section>
      )}
    </main>
  );
}

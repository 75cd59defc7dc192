/**
 * The kitchen route, `/kitchen/<restaurantId>`, for a kitchen screen (a `kitchen`, `staff` or
 * `manager` token in the fragment, shared/session.ts): new and cooking orders, oldest first, with a
 * button that moves each one on through the API (`PATCH .../orders/:orderId/status`).
 *
 * No order is missed:
 * - the screen subscribes to the restaurant's events (the kitchen room) and loads a snapshot from
 *   the API (the kitchen queue, plus pending orders, which the queue leaves out) at start and again
 *   when the first connection is live, so an order created between the two is in one or the other;
 * - a dropped connection reconnects and resumes from the last event id (app/src/realtime/client.ts):
 *   the service replays everything missed, in order;
 * - when it cannot (`resync`: the gap is older than its replay window), the screen reloads the
 *   snapshot. Reports are merged by the later status (shared/order-status.ts), so their order and
 *   repeats do not matter.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { OrderEvent } from '../../../src/events/order-events';
import type { WebRuntimeConfig } from '../../../../contract/web-delivery';
import { ApiError, createApiClient, type ApiClient } from '../shared/api';
import { connectLiveUpdates } from '../shared/live-updates';
import { laterStatus, STATUS_LABELS, type OrderStatus } from '../shared/order-status';
import { runtimeConfig } from '../shared/runtime-config';
import { endSession, isExpired, sessionClaims, sessionToken } from '../shared/session';
import { Notice } from '../shared/Notice';

const KITCHEN_ROLES = new Set(['kitchen', 'staff', 'manager']);

/** What the screen offers for each status it shows: the next status and the button's words. */
const NEXT_STEP: Partial<Record<OrderStatus, { readonly to: OrderStatus; readonly label: string }>> = {
  pending: { to: 'confirmed', label: 'Accept' },
  confirmed: { to: 'preparing', label: 'Start preparing' },
  preparing: { to: 'ready', label: 'Ready' },
  ready: { to: 'served', label: 'Served' },
};

interface Line {
  readonly name: string;
  readonly quantity: number;
  readonly notes: string | null;
}

interface Ticket {
  readonly id: string;
  readonly tableId: string | null;
  readonly status: OrderStatus;
  readonly createdAt: string | undefined;
  readonly lines: readonly Line[] | undefined;
  /** Client time of the last report about it (a snapshot keeps what changed after it started). */
  readonly seenAtMs: number;
}

/** GET .../kitchen/queue (app/src/kitchen/kitchen-repository.ts). */
interface QueueAnswer {
  readonly orders: readonly { id: string; table_id: string | null; status: OrderStatus; created_at: string; items: readonly { name: string; quantity: number; notes: string | null }[] }[];
}
/** GET .../orders and GET .../orders/:id?include=items (app/src/orders/order-repository.ts). */
interface OrderAnswer {
  readonly id: string;
  readonly table_id: string | null;
  readonly status: OrderStatus;
  readonly created_at: string;
  readonly items?: readonly { menu_item_id: string; quantity: number; notes: string | null }[];
}

export default function KitchenPage(props: { restaurantId: string }) {
  const token = sessionToken();
  const claims = token === undefined ? undefined : sessionClaims(token);
  if (!claims) return <Notice title="Sign in on this screen">Open the kitchen screen from the staff sign-in.</Notice>;
  if (!KITCHEN_ROLES.has(claims.role) || claims.restaurantId !== props.restaurantId) {
    return <Notice title="Not this restaurant's kitchen">This sign-in is not for this kitchen screen.</Notice>;
  }
  if (isExpired(claims)) return <Notice title="Signed out">The sign-in of this screen has expired. Sign in again.</Notice>;
  return <KitchenQueue restaurantId={props.restaurantId} />;
}

function KitchenQueue({ restaurantId }: { restaurantId: string }) {
  const [config, setConfig] = useState<WebRuntimeConfig>();
  const [tickets, setTickets] = useState<ReadonlyMap<string, Ticket>>(new Map());
  const [live, setLive] = useState(false);
  const [problem, setProblem] = useState<string>();
  const [ended, setEnded] = useState(false);
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const api = useMemo<ApiClient | undefined>(() => (config ? createApiClient(config.apiBaseUrl, sessionToken) : undefined), [config]);
  const names = useRef(new Map<string, string>());
  const tableLabels = useRef(new Map<string, string>());
  const base = `/v1/restaurants/${encodeURIComponent(restaurantId)}`;

  useEffect(() => {
    runtimeConfig().then(setConfig, (error: Error) => setProblem(error.message));
  }, []);

  const failed = useCallback((error: unknown) => {
    if (error instanceof ApiError && error.status === 401) {
      endSession();
      setEnded(true);
    } else {
      setProblem((error as Error).message);
    }
  }, []);

  const merge = useCallback((reports: readonly Omit<Ticket, 'seenAtMs'>[]) => {
    const now = Date.now();
    setTickets((current) => {
      const next = new Map(current);
      for (const report of reports) {
        const known = current.get(report.id);
        next.set(report.id, {
          id: report.id,
          tableId: report.tableId ?? known?.tableId ?? null,
          status: laterStatus(known?.status, report.status),
          createdAt: report.createdAt ?? known?.createdAt,
          lines: report.lines ?? known?.lines,
          seenAtMs: now,
        });
      }
      return next;
    });
  }, []);

  const linesOf = (items: OrderAnswer['items']): Line[] | undefined =>
    items?.map((i) => ({ name: names.current.get(i.menu_item_id) ?? `Item ${i.menu_item_id}`, quantity: i.quantity, notes: i.notes }));

  const loadOrder = useCallback(
    async (orderId: string) => {
      if (!api) return;
      try {
        const order = await api.request<OrderAnswer>(`${base}/orders/${encodeURIComponent(orderId)}?include=items`);
        merge([{ id: order.id, tableId: order.table_id, status: order.status, createdAt: order.created_at, lines: linesOf(order.items) }]);
      } catch (error) {
        failed(error);
      }
    },
    [api, base, merge, failed],
  );

  const loadSnapshot = useCallback(async () => {
    if (!api) return;
    const startedAtMs = Date.now();
    try {
      const [queue, pending, menu, tables] = await Promise.all([
        api.request<QueueAnswer>(`${base}/kitchen/queue?include_ready=true&limit=100`),
        api.request<{ orders: readonly OrderAnswer[] }>(`${base}/orders?status=pending&limit=100`),
        api.request<{ categories: readonly { items: readonly { id: string; name: string }[] }[] }>(`${base}/menu`),
        api.request<{ tables: readonly { id: string; label: string }[] }>(`${base}/tables`),
      ]);
      for (const item of menu.categories.flatMap((c) => c.items)) names.current.set(item.id, item.name);
      for (const table of tables.tables) tableLabels.current.set(table.id, table.label);
      const reports: Omit<Ticket, 'seenAtMs'>[] = [
        ...queue.orders.map((o) => ({ id: o.id, tableId: o.table_id, status: o.status, createdAt: o.created_at, lines: o.items })),
        ...pending.orders.map((o) => ({ id: o.id, tableId: o.table_id, status: o.status, createdAt: o.created_at, lines: undefined })),
      ];
      const inSnapshot = new Set(reports.map((r) => r.id));
      // What the snapshot no longer lists left the kitchen (served, cancelled) unless a report
      // arrived while it loaded.
      setTickets((current) => new Map([...current].filter(([id, ticket]) => inSnapshot.has(id) || ticket.seenAtMs >= startedAtMs)));
      merge(reports);
      setProblem(undefined);
      await Promise.all(pending.orders.map((o) => loadOrder(o.id)));
    } catch (error) {
      failed(error);
    }
  }, [api, base, merge, loadOrder, failed]);

  useEffect(() => {
    void loadSnapshot();
  }, [loadSnapshot]);

  const onEvent = useCallback(
    (event: OrderEvent) => {
      merge([{ id: event.order_id, tableId: event.table_id, status: event.status, createdAt: undefined, lines: undefined }]);
      // A new order (or one this screen has not seen): fetch its lines.
      if (event.type === 'order.created' || !tickets.has(event.order_id)) void loadOrder(event.order_id);
    },
    [merge, loadOrder, tickets],
  );
  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;

  useEffect(() => {
    if (!config || !api) return;
    const updates = connectLiveUpdates({
      url: config.websocketUrl,
      token: sessionToken,
      onEvent: (event) => onEventRef.current(event),
      onLiveChange: setLive,
      onReady: ({ resumed }) => {
        if (!resumed) void loadSnapshot();
      },
      onResync: () => void loadSnapshot(),
    });
    return () => updates.close();
  }, [config, api, loadSnapshot]);

  const advance = async (ticket: Ticket, to: OrderStatus) => {
    if (!api) return;
    setBusy((current) => new Set(current).add(ticket.id));
    try {
      const query = ticket.createdAt ? `?created_at=${encodeURIComponent(ticket.createdAt)}` : '';
      const order = await api.request<OrderAnswer>(`${base}/orders/${encodeURIComponent(ticket.id)}/status${query}`, { method: 'PATCH', body: { status: to } });
      merge([{ id: order.id, tableId: order.table_id, status: order.status, createdAt: order.created_at, lines: undefined }]);
    } catch (error) {
      // Another screen moved it first: show where it is now.
      if (error instanceof ApiError && error.code === 'invalid_transition') void loadOrder(ticket.id);
      else failed(error);
    } finally {
      setBusy((current) => {
        const next = new Set(current);
        next.delete(ticket.id);
        return next;
      });
    }
  };

  if (ended) return <Notice title="Signed out">The sign-in of this screen has expired. Sign in again.</Notice>;
  const shown = [...tickets.values()].filter((t) => NEXT_STEP[t.status] !== undefined).sort((a, b) => (a.createdAt ?? '~').localeCompare(b.createdAt ?? '~'));
  return (
    <main className="page kitchen">
      <header className="bar">
        <h1>Kitchen</h1>
        <p className="connection" data-live={live}>
          {live ? 'Live' : 'Reconnecting'}
        </p>
      </header>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {shown.length === 0 && <p className="muted">No open orders.</p>}
      <ul className="tickets">
        {shown.map((ticket) => {
          const step = NEXT_STEP[ticket.status]!;
          const table = ticket.tableId === null ? 'No table' : `Table ${tableLabels.current.get(ticket.tableId) ?? ticket.tableId}`;
          return (
            <li key={ticket.id} className="ticket" data-order-id={ticket.id} data-status={ticket.status}>
              <h2>
                {table} · #{ticket.id} · <span className="status">{STATUS_LABELS[ticket.status]}</span>
              </h2>
              {ticket.lines ? (
                <ul>
                  {ticket.lines.map((line, i) => (
                    <li key={i}>
                      {line.quantity} × {line.name}
                      {line.notes ? ` (${line.notes})` : ''}
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted">Loading…</p>
              )}
              <button type="button" className="primary" disabled={busy.has(ticket.id)} onClick={() => void advance(ticket, step.to)}>
                {step.label}
              </button>
            </li>
          );
        })}
      </ul>
    </main>
  );
}

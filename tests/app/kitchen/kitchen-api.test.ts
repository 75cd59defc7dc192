/**
 * The kitchen queue (app/src/kitchen) against a real PostgreSQL primary and streaming replica: its
 * content and order, read-your-writes after order status changes, and its plan (the index, and
 * partition pruning to the months of the last 24 hours).
 */
import { registerKitchenRoutes } from '../../../app/src/kitchen/kitchen-routes';
import { kitchenQueueStatement } from '../../../app/src/kitchen/kitchen-repository';
import { KITCHEN_WINDOW_HOURS } from '../../../app/src/kitchen/kitchen-service';
import { ensureOrderPartitions } from '../../../app/src/db/order-partitions';
import { registerOrderRoutes } from '../../../app/src/orders/order-routes';
import { httpTestConfig, memoryLogger } from '../http/support';
import { startHarness, type Harness } from '../tables/restaurant-api-harness';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Subplans Removed'?: number;
  Plans?: PlanNode[];
}

const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];
const HOUR_MS = 3_600_000;

let h: Harness;
let items: { id: string; name: string }[];
let keyCounter = 0;

const queuePath = (restaurant: string, query = '') => `/restaurants/${restaurant}/kitchen/queue${query}`;

beforeAll(async () => {
  const { logger } = memoryLogger(httpTestConfig());
  h = await startHarness((v1, kit, db) => {
    registerOrderRoutes(v1, kit, { db, logger });
    registerKitchenRoutes(v1, kit, { db });
  });
  // Last month's partition as well: the seeded history reaches back 20 days.
  await ensureOrderPartitions(h.sql, { now: new Date(Date.now() - 25 * 24 * HOUR_MS), monthsAhead: 0 });
  const category = (await h.sql.query<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name) VALUES ($1, 'Mains') RETURNING id::text`, [h.seed.restaurant])).rows[0]!.id;
  const inserted = await h.sql.query<{ id: string; name: string }>(
    `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Pad thai', 12000), ($1, $2, 'Som tam', 8000) RETURNING id::text, name`,
    [h.seed.restaurant, category],
  );
  items = inserted.rows;
}, 120_000);
afterAll(() => h?.close());

/** A restaurant of its own per test, so orders of other tests never show in its queue. */
async function newRestaurant(slug: string): Promise<{ id: string; table: string }> {
  const id = (await h.sql.query<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ($1, $1, 'Asia/Bangkok', 'THB') RETURNING id::text`, [slug])).rows[0]!.id;
  const table = (await h.sql.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'A1', 4) RETURNING id::text`, [id])).rows[0]!.id;
  return { id, table };
}

/** An order placed `ageHours` ago, in `status`, with its status timestamps, and lines. */
async function seedOrder(restaurant: string, table: string, status: string, ageHours: number, lines: { item: number; quantity: number; notes?: string }[] = [{ item: 0, quantity: 1 }]) {
  const { rows } = await h.sql.query<{ id: string; created_at: string }>(
    `INSERT INTO orders (restaurant_id, table_id, status, total_cents, created_at, confirmed_at, preparing_at, ready_at)
     SELECT $1, $2, $3, 100, c, CASE WHEN $3 <> 'pending' THEN c + interval '1 minute' END,
            CASE WHEN $3 IN ('preparing', 'ready', 'served', 'completed') THEN c + interval '2 minutes' END,
            CASE WHEN $3 IN ('ready', 'served', 'completed') THEN c + interval '12 minutes' END
       FROM (SELECT now() - $4::float8 * interval '1 hour' AS c) x
     RETURNING id::text, created_at::text`,
    [restaurant, table, status, ageHours],
  );
  const order = rows[0]!;
  for (const line of lines) {
    // Items of the seeded restaurant: the foreign key does not tie an order line to the order's restaurant.
    await h.sql.query(`INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents, notes) VALUES ($1, $2, $3, $4, 100, $5)`, [
      order.id,
      order.created_at,
      items[line.item]!.id,
      line.quantity,
      line.notes ?? null,
    ]);
  }
  return order.id;
}

describe('GET kitchen queue', () => {
  test('confirmed and preparing orders of the last 24 hours, oldest first, with their lines', async () => {
    const r = await newRestaurant('kitchen-content');
    const confirmed = await seedOrder(r.id, r.table, 'confirmed', 2, [{ item: 0, quantity: 2, notes: 'no peanuts' }, { item: 1, quantity: 1 }]);
    const preparing = await seedOrder(r.id, r.table, 'preparing', 1);
    const ready = await seedOrder(r.id, r.table, 'ready', 0.5);
    await seedOrder(r.id, r.table, 'pending', 0.2);
    await seedOrder(r.id, r.table, 'completed', 3);
    await seedOrder(r.id, r.table, 'cancelled', 3);
    await seedOrder(r.id, r.table, 'confirmed', KITCHEN_WINDOW_HOURS + 6);
    await seedOrder(h.seed.restaurant, h.seed.tables[0]!, 'confirmed', 1);
    const kitchen = await h.token('kitchen', { restaurant: r.id });

    const queue = await h.call('GET', queuePath(r.id), { token: kitchen });
    expect(queue.status).toBe(200);
    expect(queue.body.has_more).toBe(false);
    expect(queue.body.orders.map((o: { id: string }) => o.id)).toEqual([confirmed, preparing]);
    expect(queue.body.orders[0]).toEqual({
      id: confirmed,
      table_id: r.table,
      table_label: 'A1',
      status: 'confirmed',
      created_at: expect.stringMatching(/Z$/),
      confirmed_at: expect.stringMatching(/Z$/),
      preparing_at: null,
      ready_at: null,
      items: [
        { id: expect.any(String), menu_item_id: items[0]!.id, name: 'Pad thai', quantity: 2, notes: 'no peanuts' },
        { id: expect.any(String), menu_item_id: items[1]!.id, name: 'Som tam', quantity: 1, notes: null },
      ],
    });

    const withReady = await h.call('GET', queuePath(r.id, '?include_ready=true'), { token: kitchen });
    expect(withReady.body.orders.map((o: { id: string }) => o.id)).toEqual([confirmed, preparing, ready]);
    const first = await h.call('GET', queuePath(r.id, '?limit=1'), { token: await h.token('staff', { restaurant: r.id }) });
    expect(first.body).toMatchObject({ has_more: true, orders: [{ id: confirmed }] });
  });

  test('an order moved through the order API shows in the next queue read although the replica has not replayed it', async () => {
    const staff = await h.token('staff');
    const kitchen = await h.token('kitchen');
    const ids = (body: { orders: { id: string; status: string }[] }) => body.orders.map((o) => `${o.id}:${o.status}`);
    await h.cluster.waitForReplica();
    await h.db.checkReplicas();
    await h.cluster.pauseReplay();
    try {
      const created = await h.call('POST', `/restaurants/${h.seed.restaurant}/orders`, {
        token: staff,
        body: { table_id: h.seed.tables[2], items: [{ menu_item_id: items[1]!.id, quantity: 3, notes: 'mild' }] },
        headers: { 'idempotency-key': `kitchen-${++keyCounter}` },
      });
      expect(created.status).toBe(201);
      const orderPath = `/restaurants/${h.seed.restaurant}/orders/${created.body.id}/status?created_at=${encodeURIComponent(created.body.created_at)}`;
      expect((await h.call('GET', queuePath(h.seed.restaurant), { token: kitchen })).body.orders.map((o: { id: string }) => o.id)).not.toContain(created.body.id);

      expect((await h.call('PATCH', orderPath, { token: staff, body: { status: 'confirmed' } })).status).toBe(200);
      const afterConfirm = await h.call('GET', queuePath(h.seed.restaurant), { token: kitchen });
      expect(ids(afterConfirm.body)).toContain(`${created.body.id}:confirmed`);
      expect(afterConfirm.body.orders.find((o: { id: string }) => o.id === created.body.id).items).toEqual([
        { id: expect.any(String), menu_item_id: items[1]!.id, name: 'Som tam', quantity: 3, notes: 'mild' },
      ]);

      expect((await h.call('PATCH', orderPath, { token: kitchen, body: { status: 'preparing' } })).status).toBe(200);
      expect(ids((await h.call('GET', queuePath(h.seed.restaurant), { token: kitchen })).body)).toContain(`${created.body.id}:preparing`);
      expect((await h.call('PATCH', orderPath, { token: kitchen, body: { status: 'ready' } })).status).toBe(200);
      expect(ids((await h.call('GET', queuePath(h.seed.restaurant), { token: kitchen })).body).join()).not.toContain(created.body.id);
      // With replay paused, only the primary had these writes.
      expect(h.queries.filter((q) => q.name === 'kitchen.queue').slice(-1)[0]!.role).toBe('primary');
    } finally {
      await h.cluster.resumeReplay();
    }
    // Once the replica has caught up, the queue is read there again.
    await h.cluster.waitForReplica();
    await h.db.checkReplicas();
    await h.call('GET', queuePath(h.seed.restaurant), { token: kitchen });
    expect(h.queries.filter((q) => q.name === 'kitchen.queue').slice(-1)[0]!.role).toBe('replica');
  });
});

describe('authorization', () => {
  test('guests get 403, staff of another restaurant 403, no token 401', async () => {
    expect((await h.call('GET', queuePath(h.seed.restaurant), { token: await h.token('guest') })).status).toBe(403);
    expect((await h.call('GET', queuePath(h.seed.restaurant), { token: await h.token('kitchen', { restaurant: h.seed.other }) })).status).toBe(403);
    expect((await h.call('GET', queuePath(h.seed.restaurant))).status).toBe(401);
  });
});

describe('bad input: 400 naming the field, nothing written', () => {
  const snapshot = async () => (await h.sql.query<{ s: string }>(`SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') AS s FROM orders`)).rows[0]!.s;
  test.each([
    ['limit over the cap', '?limit=101', /^query\.limit: must be at most 100/],
    ['limit zero', '?limit=0', /^query\.limit: must be at least 1/],
    ['limit not a number', '?limit=ten', /^query\.limit: must be an integer/],
    ['include_ready not a boolean', '?include_ready=yes', /^query\.include_ready: must be true or false/],
    ['unknown query parameter', '?status=ready', /^query\.status: is not allowed/],
  ])('%s', async (_name, query, naming) => {
    const before = await snapshot();
    const r = await h.call('GET', queuePath(h.seed.restaurant, query), { token: await h.token('kitchen') });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(naming);
    expect(await snapshot()).toBe(before);
  });

  test('bad restaurant id', async () => {
    const r = await h.call('GET', '/restaurants/1e3/kitchen/queue', { token: await h.token('kitchen') });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^params\.restaurantId: must be a positive integer id/);
  });
});

describe('plan of the queue statement', () => {
  let rootIndexOf: Map<string, string>;
  let busy: string;

  async function explain(text: string, values: unknown[]) {
    const { rows } = await h.sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({ text: `EXPLAIN (FORMAT JSON) ${text}`, values });
    const nodes = flatten(rows[0]!['QUERY PLAN'][0].Plan);
    const orderPartitions = [...new Set(nodes.map((n) => n['Relation Name']).filter((r): r is string => r !== undefined && /^orders_/.test(r)))].sort();
    // Only orders has partitioned indexes, so an index with a root index is an orders partition's.
    const orderIndexScans = nodes.filter((n) => n['Index Name'] !== undefined && rootIndexOf.has(n['Index Name']));
    return { nodes, orderPartitions, orderIndexScans };
  }

  /** The months (orders_YYYY_MM) the window [now - window, now + 5 min] touches, by the database clock. */
  async function windowPartitions(): Promise<string[]> {
    const { rows } = await h.sql.query<{ p: string }>(
      `SELECT DISTINCT to_char(b AT TIME ZONE 'UTC', '"orders_"YYYY_MM') AS p
         FROM unnest(ARRAY[now() - make_interval(hours => $1::int), now(), now() + interval '5 minutes']) b ORDER BY 1`,
      [KITCHEN_WINDOW_HOURS],
    );
    return rows.map((r) => r.p);
  }

  beforeAll(async () => {
    // Enough history for the planner to prefer an index: 20 restaurants, 40,000 orders over 20 days.
    await h.sql.query(`
      INSERT INTO restaurants (slug, name, timezone, currency) SELECT 'busy-' || i, 'Busy ' || i, 'UTC', 'THB' FROM generate_series(1, 20) i;
      INSERT INTO orders (restaurant_id, status, total_cents, created_at)
        SELECT r.id, (ARRAY['pending', 'confirmed', 'preparing', 'ready', 'served', 'completed', 'completed', 'completed', 'cancelled'])[1 + i % 9],
               500, now() - ((i * 7919) % (20 * 86400)) * interval '1 second'
          FROM generate_series(1, 40000) i JOIN restaurants r ON r.slug = 'busy-' || (1 + i % 20);
      INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents)
        SELECT o.id, o.created_at, ${items[0]!.id}, 1, 500 FROM orders o JOIN restaurants r ON r.id = o.restaurant_id WHERE r.slug LIKE 'busy-%';
      ANALYZE;
    `);
    busy = (await h.sql.query<{ id: string }>(`SELECT id::text FROM restaurants WHERE slug = 'busy-7'`)).rows[0]!.id;
    const { rows } = await h.sql.query<{ index: string; root: string }>(
      `SELECT c.relname AS index, p.relname AS root FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE c.relkind = 'i'`,
    );
    rootIndexOf = new Map(rows.map((r) => [r.index, r.root]));
  }, 60_000);

  test('reads idx_orders_restaurant_status_created on the months of the last 24 hours only, and order lines by idx_order_items_order_id', async () => {
    const statement = kitchenQueueStatement({ restaurantId: busy, statuses: ['confirmed', 'preparing'], windowHours: KITCHEN_WINDOW_HOURS, limit: 51 });
    const plan = await explain(statement.text, statement.values!);
    const expected = await windowPartitions();
    const { rows } = await h.sql.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'orders'::regclass ORDER BY 1`);
    const all = rows.map((r) => r.name);
    // Four months and DEFAULT exist; the window reaches one or two of them.
    expect(all).toEqual(expect.arrayContaining(['orders_default', ...expected]));
    expect(all.length).toBeGreaterThanOrEqual(expected.length + 3);

    expect(plan.orderPartitions).toEqual(expected);
    // Pruned when the executor starts (now() is stable, not a constant): the Append says how many.
    expect(plan.nodes.find((n) => n['Node Type'] === 'Append')?.['Subplans Removed']).toBe(all.length - expected.length);
    expect(plan.nodes.filter((n) => n['Node Type'] === 'Seq Scan' && /^orders_/.test(n['Relation Name'] ?? ''))).toEqual([]);
    expect(new Set(plan.orderIndexScans.map((n) => rootIndexOf.get(n['Index Name']!)))).toEqual(new Set(['idx_orders_restaurant_status_created']));
    const itemScans = plan.nodes.filter((n) => n['Relation Name'] === 'order_items' || n['Index Name'] === 'idx_order_items_order_id');
    expect(itemScans.map((n) => n['Index Name'])).toContain('idx_order_items_order_id');
  });

  test('the check can fail: without the created_at bounds every month and DEFAULT are read', async () => {
    const plan = await explain(
      `SELECT o.id FROM orders o WHERE o.restaurant_id = $1 AND o.status = ANY($2::text[]) ORDER BY o.created_at LIMIT 51`,
      [busy, ['confirmed', 'preparing']],
    );
    expect(plan.orderPartitions).toContain('orders_default');
    expect(plan.orderPartitions.length).toBeGreaterThan((await windowPartitions()).length);
  });
});

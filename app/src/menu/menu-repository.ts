/** SQL of the menu: one function per statement, each on a client the service checked out. */
import type { PoolClient } from 'pg';

export interface MenuItemRow {
  readonly id: string;
  readonly restaurant_id: string;
  readonly category_id: string;
  readonly name: string;
  readonly description: string | null;
  readonly price_cents: number;
  readonly is_available: boolean;
  readonly image_keys: Record<string, string> | null;
  readonly updated_at: string;
}

export interface MenuCategoryRow {
  readonly id: string;
  readonly name: string;
  readonly sort_order: number;
}

const ITEM_COLUMNS = `id::text, restaurant_id::text, category_id::text, name, description, price_cents, is_available, image_keys,
                      to_json(updated_at)#>>'{}' AS updated_at`;

export async function findRestaurantCurrency(client: PoolClient, restaurantId: string): Promise<string | undefined> {
  const { rows } = await client.query<{ currency: string }>({ name: 'menu.restaurant', text: 'SELECT currency FROM restaurants WHERE id = $1', values: [restaurantId] });
  return rows[0]?.currency;
}

export async function listCategories(client: PoolClient, restaurantId: string): Promise<MenuCategoryRow[]> {
  const { rows } = await client.query<MenuCategoryRow>({
    name: 'menu.categories',
    text: 'SELECT id::text, name, sort_order FROM menu_categories WHERE restaurant_id = $1 ORDER BY sort_order, name, id',
    values: [restaurantId],
  });
  return rows;
}

/** Available items only (idx_menu_items_restaurant_category covers restaurant_id + is_available). */
export async function listAvailableItems(client: PoolClient, restaurantId: string): Promise<MenuItemRow[]> {
  const { rows } = await client.query<MenuItemRow>({
    name: 'menu.available_items',
    text: `SELECT ${ITEM_COLUMNS} FROM menu_items WHERE restaurant_id = $1 AND is_available ORDER BY category_id, name, id`,
    values: [restaurantId],
  });
  return rows;
}

export async function categoryBelongsTo(client: PoolClient, restaurantId: string, categoryId: string): Promise<boolean> {
  const { rowCount } = await client.query({
    name: 'menu.category_exists',
    text: 'SELECT 1 FROM menu_categories WHERE restaurant_id = $1 AND id = $2',
    values: [restaurantId, categoryId],
  });
  return (rowCount ?? 0) > 0;
}

export interface NewItem {
  readonly categoryId: string;
  readonly name: string;
  readonly description: string | null;
  readonly priceCents: number;
  readonly isAvailable: boolean;
}

export async function insertItem(client: PoolClient, restaurantId: string, item: NewItem): Promise<MenuItemRow> {
  const { rows } = await client.query<MenuItemRow>({
    name: 'menu.insert_item',
    text: `INSERT INTO menu_items (restaurant_id, category_id, name, description, price_cents, is_available)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ITEM_COLUMNS}`,
    values: [restaurantId, item.categoryId, item.name, item.description, item.priceCents, item.isAvailable],
  });
  return rows[0]!;
}

export interface ItemChanges {
  readonly categoryId?: string;
  readonly name?: string;
  readonly description?: string | null;
  readonly priceCents?: number;
  readonly isAvailable?: boolean;
}

/** Updates only the given columns of an item of this restaurant; undefined when there is none. */
export async function updateItem(client: PoolClient, restaurantId: string, itemId: string, changes: ItemChanges): Promise<MenuItemRow | undefined> {
  const columns: [string, unknown][] = [];
  if (changes.categoryId !== undefined) columns.push(['category_id', changes.categoryId]);
  if (changes.name !== undefined) columns.push(['name', changes.name]);
  if (changes.description !== undefined) columns.push(['description', changes.description]);
  if (changes.priceCents !== undefined) columns.push(['price_cents', changes.priceCents]);
  if (changes.isAvailable !== undefined) columns.push(['is_available', changes.isAvailable]);
  if (columns.length === 0) throw new Error('updateItem: no changes');
  // Column names come from the fixed list above, never from input.
  const assignments = columns.map(([column], i) => `${column} = $${i + 3}`).join(', ');
  const { rows } = await client.query<MenuItemRow>(
    `UPDATE menu_items SET ${assignments} WHERE restaurant_id = $1 AND id = $2 RETURNING ${ITEM_COLUMNS}`,
    [restaurantId, itemId, ...columns.map(([, value]) => value)],
  );
  return rows[0];
}

/** SQL of menu item images: one function per statement, on a client the service checked out. */
import type { PoolClient } from 'pg';

/**
 * The item's current `image_keys` (`{}` when it has none); undefined when the restaurant has no
 * such item. `lock` takes the row lock, so two uploads for one item replace each other in order.
 */
export async function findItemImageKeys(client: PoolClient, restaurantId: string, itemId: string, lock: boolean): Promise<Record<string, string> | undefined> {
  const { rows } = await client.query<{ image_keys: Record<string, string> | null }>({
    name: lock ? 'menu_images.item_keys_for_update' : 'menu_images.item_keys',
    text: `SELECT image_keys FROM menu_items WHERE restaurant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    values: [restaurantId, itemId],
  });
  if (rows.length === 0) return undefined;
  return rows[0]!.image_keys ?? {};
}

export async function setItemImageKeys(client: PoolClient, restaurantId: string, itemId: string, imageKeys: Record<string, string>): Promise<void> {
  await client.query({
    name: 'menu_images.set_keys',
    text: 'UPDATE menu_items SET image_keys = $3::jsonb WHERE restaurant_id = $1 AND id = $2',
    values: [restaurantId, itemId, JSON.stringify(imageKeys)],
  });
}

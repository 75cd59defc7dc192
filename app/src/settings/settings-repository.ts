/** SQL of restaurant settings (restaurants.settings jsonb). */
import type { PoolClient } from 'pg';

export interface SettingsRow {
  readonly restaurant_id: string;
  readonly name: string;
  readonly timezone: string;
  readonly currency: string;
  readonly settings: Record<string, unknown>;
  readonly updated_at: string;
}

const COLUMNS = `id::text AS restaurant_id, name, timezone, currency, settings,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at`;

export async function findSettings(client: PoolClient, restaurantId: string): Promise<SettingsRow | undefined> {
  const { rows } = await client.query<SettingsRow>({ name: 'settings.find', text: `SELECT ${COLUMNS} FROM restaurants WHERE id = $1`, values: [restaurantId] });
  return rows[0];
}

/** Merges top-level keys (`||`), then removes the keys set to null: one statement, no read-modify-write race. */
export async function mergeSettings(client: PoolClient, restaurantId: string, set: Record<string, unknown>, remove: readonly string[]): Promise<SettingsRow | undefined> {
  const { rows } = await client.query<SettingsRow>({
    name: 'settings.merge',
    text: `UPDATE restaurants SET settings = (settings || $2::jsonb) - $3::text[] WHERE id = $1 RETURNING ${COLUMNS}`,
    values: [restaurantId, JSON.stringify(set), remove],
  });
  return rows[0];
}

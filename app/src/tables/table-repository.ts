/** SQL of the dining-room tables: one function per statement, on a client the service checked out. */
import type { PoolClient } from 'pg';
import type { TableStatus } from './table-schemas';

export interface TableRow {
  readonly id: string;
  readonly label: string;
  readonly seats: number;
  readonly status: TableStatus;
  readonly updated_at: string;
}

const TABLE_COLUMNS = `id::text, label, seats, status, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at`;

/**
 * Every table of a restaurant, or those in one status (idx_tables_restaurant_status). Not paged: a
 * restaurant has tens to a few hundred tables, and the floor plan needs all of them at once.
 * `t.id` in ORDER BY: a bare `id` would be the output column, the text `id::text`.
 */
export async function listTables(client: PoolClient, restaurantId: string, status?: TableStatus): Promise<TableRow[]> {
  const { rows } = await client.query<TableRow>(
    status === undefined
      ? { name: 'tables.list', text: `SELECT ${TABLE_COLUMNS} FROM tables t WHERE t.restaurant_id = $1 ORDER BY t.label, t.id`, values: [restaurantId] }
      : {
          name: 'tables.list_by_status',
          text: `SELECT ${TABLE_COLUMNS} FROM tables t WHERE t.restaurant_id = $1 AND t.status = $2 ORDER BY t.label, t.id`,
          values: [restaurantId, status],
        },
  );
  return rows;
}

/** Undefined when the restaurant has no such table. */
export async function setTableStatus(client: PoolClient, restaurantId: string, tableId: string, status: TableStatus): Promise<TableRow | undefined> {
  const { rows } = await client.query<TableRow>({
    name: 'tables.set_status',
    text: `UPDATE tables SET status = $3 WHERE restaurant_id = $1 AND id = $2 RETURNING ${TABLE_COLUMNS}`,
    values: [restaurantId, tableId, status],
  });
  return rows[0];
}

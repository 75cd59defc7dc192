/**
 * Dining-room tables: the floor plan and its status changes. Any status may follow any other (a
 * table goes out of service from wherever it is; cleaning may be skipped), so there is no state
 * machine here, unlike orders and reservations.
 *
 * Read-your-writes: a change records its WAL position under `restaurant:<id>` and the list reads
 * with that key, so the tablet that just marked a table as cleaning never sees it occupied again.
 */
import type { DatabaseManager } from '../db/database-manager';
import { notFound } from '../errors';
import { consistencyKey } from '../orders/order-service';
import { listTables, setTableStatus, type TableRow } from './table-repository';
import type { TableStatus } from './table-schemas';

export interface TableService {
  list(restaurantId: string, status?: TableStatus): Promise<{ tables: TableRow[] }>;
  /** 404 when the restaurant has no such table. */
  setStatus(restaurantId: string, tableId: string, status: TableStatus): Promise<TableRow>;
}

export function createTableService(deps: { db: DatabaseManager }): TableService {
  const { db } = deps;
  return {
    async list(restaurantId, status) {
      const tables = await db.read((client) => listTables(client, restaurantId, status), { name: 'tables.list', consistencyKey: consistencyKey(restaurantId) });
      return { tables };
    },

    async setStatus(restaurantId, tableId, status) {
      const row = await db.write((client) => setTableStatus(client, restaurantId, tableId, status), {
        name: 'tables.set_status',
        consistencyKey: consistencyKey(restaurantId),
      });
      if (!row) throw notFound('table');
      return row;
    },
  };
}

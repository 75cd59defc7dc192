/**
 * Input schemas of the table routes. Validation failures become a 400 naming the field through
 * `parseInput` in http/input.ts (`params.tableId`, `query.status`, `body.status`, `body.color`).
 */
import { z } from 'zod';
import { databaseId } from '../http/input';

/** The statuses `tables_status_check` allows (migration 20261128190300000_dining-room). */
export const TABLE_STATUSES = ['available', 'occupied', 'reserved', 'cleaning', 'out_of_service'] as const;
export type TableStatus = (typeof TABLE_STATUSES)[number];

const tableStatus = z.enum(TABLE_STATUSES, { message: `must be one of ${TABLE_STATUSES.join(', ')}` });

export const tableParams = z.strictObject({ restaurantId: databaseId, tableId: databaseId });

export const listTablesQuery = z.strictObject({ status: tableStatus.optional() });

export const tableStatusBody = z.strictObject({ status: tableStatus });

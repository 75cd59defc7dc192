/**
 * Monthly partitions of `orders`: `ensureOrderPartitions` makes sure the current UTC month and the
 * next `monthsAhead` months each have one (orders_YYYY_MM, bounds at 00:00 UTC on the 1st), so an
 * insert never lands in the DEFAULT partition. It creates what is missing and leaves everything
 * else alone (retention, detaching old months, is not its job); running it again changes nothing.
 *
 * Rows in DEFAULT: PostgreSQL refuses to add a partition whose range holds rows of the default
 * partition ("updated partition constraint for default partition would be violated"). When the
 * CronJob was down long enough for orders of a month to land in DEFAULT, the month's partition is
 * created with those rows moved into it, in one transaction. DETACH of the default partition is no
 * way around it: it is refused while order_items or idempotency_keys reference its rows, and a
 * deferred foreign key does not help either (PostgreSQL checks the deferred delete against the
 * partition the row left, not the parent). So the move is:
 *   1. lock the parent (SHARE UPDATE EXCLUSIVE: orders stay readable and writable) and the default
 *      partition (ACCESS EXCLUSIVE: ATTACH takes it anyway; inserts that would land there wait);
 *   2. set aside the rows that reference the moving orders (every foreign key to `orders`, found in
 *      the catalog) in temporary tables, deleting them;
 *   3. copy the orders into a new table shaped like `orders`, delete them from DEFAULT;
 *   4. ATTACH the new table as the month's partition (indexes, foreign keys and triggers follow);
 *   5. put the referencing rows back unchanged (ids included).
 * Without rows to move, steps 2, 3 and 5 are skipped: creating a table and attaching it needs only
 * SHARE UPDATE EXCLUSIVE on `orders`, where CREATE TABLE ... PARTITION OF would block all order
 * traffic for the duration. Every month runs in its own short transaction under `lock_timeout`, so
 * a long query holding a lock makes the run fail (the CronJob retries) instead of stalling orders.
 */
import { escapeIdentifier, escapeLiteral, type ClientBase } from 'pg';

export const ORDERS_TABLE = 'orders';

/** The current month plus this many: at least two months of runway if the CronJob stops. */
export const DEFAULT_MONTHS_AHEAD = 2;
const MAX_MONTHS_AHEAD = 36;

/**
 * Key of the transaction-level advisory lock serialising partition maintenance: the migration Job
 * and the CronJob can run at the same moment. Arbitrary and fixed; distinct from node-pg-migrate's
 * lock (7241865325823964).
 */
export const PARTITION_MAINTENANCE_LOCK_ID = 4_711_001;

export interface MonthPartition {
  /** orders_YYYY_MM */
  readonly name: string;
  /** Inclusive lower bound, 00:00 UTC on the 1st, as PostgreSQL prints it with TimeZone=UTC. */
  readonly from: string;
  /** Exclusive upper bound: the next month's `from`. */
  readonly to: string;
}

export interface EnsureOrderPartitionsOptions {
  /**
   * Months after the current one to cover.
   * @default DEFAULT_MONTHS_AHEAD
   */
  readonly monthsAhead?: number;
  /**
   * The clock: which month is current (in UTC).
   * @default - now
   */
  readonly now?: Date;
  /**
   * Longest wait for a table lock before the month's transaction gives up.
   * @default 10000
   */
  readonly lockTimeoutMs?: number;
}

export interface MovedFromDefault {
  readonly partition: string;
  /** Orders moved from the default partition into `partition`. */
  readonly orders: number;
  /** Rows set aside and restored per referencing table (order_items, idempotency_keys). */
  readonly referencingRows: Readonly<Record<string, number>>;
}

export interface OrderPartitionReport {
  /** Partitions this run created, oldest first. */
  readonly created: readonly string[];
  /** Partitions of the window that already existed. */
  readonly existing: readonly string[];
  readonly movedFromDefault: readonly MovedFromDefault[];
  /**
   * Orders still in the default partition after the run: months outside the window (older ones,
   * or far future dates). Not moved automatically; worth an alert when not 0.
   */
  readonly rowsLeftInDefault: number;
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const utcMidnightOfFirst = (year: number, monthIndex: number) => {
  const d = new Date(Date.UTC(year, monthIndex, 1));
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-01 00:00:00+00`;
};

/** The partition of the UTC month `monthIndex` (0-11, may overflow into later years) of `year`. */
export function monthPartition(year: number, monthIndex: number): MonthPartition {
  const start = new Date(Date.UTC(year, monthIndex, 1));
  const y = start.getUTCFullYear();
  const m = start.getUTCMonth();
  return {
    name: `${ORDERS_TABLE}_${y}_${pad2(m + 1)}`,
    from: utcMidnightOfFirst(y, m),
    to: utcMidnightOfFirst(y, m + 1),
  };
}

/** The window: the month of `now` (UTC) and the `monthsAhead` months after it. */
export function partitionWindow(now: Date, monthsAhead: number): MonthPartition[] {
  if (!Number.isInteger(monthsAhead) || monthsAhead < 0 || monthsAhead > MAX_MONTHS_AHEAD) {
    throw new Error(`monthsAhead must be an integer in 0..${MAX_MONTHS_AHEAD}, got ${monthsAhead}`);
  }
  if (Number.isNaN(now.getTime())) throw new Error('now must be a valid date, got an invalid Date');
  return Array.from({ length: monthsAhead + 1 }, (_, i) => monthPartition(now.getUTCFullYear(), now.getUTCMonth() + i));
}

const boundOf = (p: MonthPartition) => `FOR VALUES FROM (${escapeLiteral(p.from)}) TO (${escapeLiteral(p.to)})`;

interface PartitionRow {
  name: string;
  bound: string;
}

async function listPartitions(db: ClientBase): Promise<PartitionRow[]> {
  const { rows } = await db.query<PartitionRow>(
    `SELECT c.oid::regclass::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass`,
    [ORDERS_TABLE],
  );
  return rows;
}

/** A foreign key pointing at `orders`, with its columns paired in order. */
interface ReferencingKey {
  table: string;
  columns: string[];
  referencedColumns: string[];
  /** Every column of the referencing table a row can be re-inserted with (not generated). */
  insertableColumns: string[];
}

async function referencingKeys(db: ClientBase): Promise<ReferencingKey[]> {
  // conparentid = 0: the constraint on the referencing table itself, not its per-partition clones.
  const { rows } = await db.query<{ table: string; columns: string[]; referenced_columns: string[]; insertable_columns: string[] }>(
    `SELECT con.conrelid::regclass::text AS table,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n) AS referenced_columns,
            ARRAY(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = con.conrelid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                   ORDER BY a.attnum) AS insertable_columns
       FROM pg_constraint con
      WHERE con.contype = 'f' AND con.confrelid = $1::regclass AND con.conparentid = 0
      ORDER BY 1`,
    [ORDERS_TABLE],
  );
  return rows.map((r) => ({ table: r.table, columns: r.columns, referencedColumns: r.referenced_columns, insertableColumns: r.insertable_columns }));
}

async function orderColumns(db: ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT attname::text AS name FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [ORDERS_TABLE],
  );
  return rows.map((r) => r.name);
}

const columnList = (columns: readonly string[]) => columns.map(escapeIdentifier).join(', ');

/** Steps 2 and 3 of the move; returns what to restore after ATTACH. */
async function moveOutOfDefault(
  db: ClientBase,
  defaultPartition: string,
  target: MonthPartition,
): Promise<{ orders: number; restore: () => Promise<Record<string, number>> }> {
  const inRange = (alias: string) => `${alias}.created_at >= ${escapeLiteral(target.from)} AND ${alias}.created_at < ${escapeLiteral(target.to)}`;
  const keys = await referencingKeys(db);
  const setAside: { key: ReferencingKey; holding: string; rows: number }[] = [];
  for (const [index, key] of keys.entries()) {
    const holding = escapeIdentifier(`moving_${target.name}_${index}`);
    await db.query(`CREATE TEMPORARY TABLE ${holding} (LIKE ${key.table}) ON COMMIT DROP`);
    const join = key.columns.map((c, i) => `r.${escapeIdentifier(c)} = o.${escapeIdentifier(key.referencedColumns[i]!)}`).join(' AND ');
    const moved = await db.query(
      `WITH moved AS (DELETE FROM ${key.table} r USING ${defaultPartition} o WHERE ${join} AND ${inRange('o')} RETURNING r.*)
       INSERT INTO ${holding} SELECT * FROM moved`,
    );
    setAside.push({ key, holding, rows: moved.rowCount ?? 0 });
  }

  const columns = columnList(await orderColumns(db));
  const copied = await db.query(`INSERT INTO ${escapeIdentifier(target.name)} (${columns}) SELECT ${columns} FROM ${defaultPartition} d WHERE ${inRange('d')}`);
  const deleted = await db.query(`DELETE FROM ${defaultPartition} d WHERE ${inRange('d')}`);
  if (copied.rowCount !== deleted.rowCount) {
    throw new Error(`moving orders of ${target.name} out of ${defaultPartition}: copied ${copied.rowCount} rows but deleted ${deleted.rowCount}`);
  }

  const restore = async () => {
    const restored: Record<string, number> = {};
    for (const { key, holding, rows } of setAside) {
      const cols = columnList(key.insertableColumns);
      // OVERRIDING SYSTEM VALUE keeps the rows' own ids in GENERATED ALWAYS identity columns.
      const back = await db.query(`INSERT INTO ${key.table} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${holding}`);
      if (back.rowCount !== rows) throw new Error(`restoring ${key.table} rows of ${target.name}: set aside ${rows}, restored ${back.rowCount}`);
      restored[key.table] = (restored[key.table] ?? 0) + rows;
    }
    return restored;
  };
  return { orders: copied.rowCount ?? 0, restore };
}

type MonthOutcome = { kind: 'existing' } | { kind: 'created'; moved?: MovedFromDefault };

async function ensureMonth(db: ClientBase, target: MonthPartition, lockTimeoutMs: number): Promise<MonthOutcome> {
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL lock_timeout = ${lockTimeoutMs}`);
    // Partition bounds print in the session's zone; UTC makes them comparable to MonthPartition.
    await db.query(`SET LOCAL TimeZone = 'UTC'`);
    await db.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_MAINTENANCE_LOCK_ID]);

    const partitions = await listPartitions(db);
    const same = partitions.find((p) => p.name === target.name);
    if (same) {
      if (same.bound !== boundOf(target)) {
        throw new Error(`partition ${target.name} exists with "${same.bound}", expected "${boundOf(target)}"`);
      }
      await db.query('COMMIT');
      return { kind: 'existing' };
    }
    const { rows: clash } = await db.query<{ kind: string | null }>('SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)) AS kind', [target.name]);
    if (clash[0]?.kind) {
      throw new Error(`${target.name} exists but is not a partition of ${ORDERS_TABLE} (relkind ${clash[0].kind}); rename or drop it`);
    }

    const defaultPartition = partitions.find((p) => p.bound === 'DEFAULT')?.name;
    await db.query(`LOCK TABLE ONLY ${ORDERS_TABLE} IN SHARE UPDATE EXCLUSIVE MODE`);
    let waiting = 0;
    if (defaultPartition) {
      await db.query(`LOCK TABLE ${defaultPartition} IN ACCESS EXCLUSIVE MODE`);
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${defaultPartition} WHERE created_at >= $1 AND created_at < $2`,
        [target.from, target.to],
      );
      waiting = rows[0]!.n;
    }

    const name = escapeIdentifier(target.name);
    await db.query(`CREATE TABLE ${name} (LIKE ${ORDERS_TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)`);
    const move = waiting > 0 && defaultPartition ? await moveOutOfDefault(db, defaultPartition, target) : undefined;
    await db.query(`ALTER TABLE ${ORDERS_TABLE} ATTACH PARTITION ${name} ${boundOf(target)}`);
    const referencingRows = move ? await move.restore() : undefined;
    await db.query('COMMIT');
    return move && referencingRows
      ? { kind: 'created', moved: { partition: target.name, orders: move.orders, referencingRows } }
      : { kind: 'created' };
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw new Error(`ensuring partition ${target.name} of ${ORDERS_TABLE} failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Creates the missing monthly partitions of the window over `db`, a connected session to the
 * primary that is not inside a transaction (each month commits on its own).
 */
export async function ensureOrderPartitions(db: ClientBase, options: EnsureOrderPartitionsOptions = {}): Promise<OrderPartitionReport> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 1) throw new Error(`lockTimeoutMs must be a positive integer, got ${lockTimeoutMs}`);
  const window = partitionWindow(options.now ?? new Date(), options.monthsAhead ?? DEFAULT_MONTHS_AHEAD);

  const created: string[] = [];
  const existing: string[] = [];
  const movedFromDefault: MovedFromDefault[] = [];
  for (const month of window) {
    const outcome = await ensureMonth(db, month, lockTimeoutMs);
    if (outcome.kind === 'existing') {
      existing.push(month.name);
    } else {
      created.push(month.name);
      if (outcome.moved) movedFromDefault.push(outcome.moved);
    }
  }

  const defaultPartition = (await listPartitions(db)).find((p) => p.bound === 'DEFAULT')?.name;
  const left = defaultPartition ? (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${defaultPartition}`)).rows[0]!.n : 0;
  return { created, existing, movedFromDefault, rowsLeftInDefault: left };
}

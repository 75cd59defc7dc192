/**
 * Migration 20261129100100000_reservation-table-overlaps against a real primary that already holds
 * reservations, as a running location does: it refuses while active bookings of one table overlap
 * (naming each pair, applying nothing), applies once they are resolved, and its constraint then
 * holds for every writer. Up, down and up again.
 */
import * as fs from 'node:fs';
import type { Client } from 'pg';
import { MIGRATIONS_DIR } from '../../../app/src/db/migrate';
import { startPostgresCluster, type PostgresCluster } from '../../../tools/services/postgres-cluster';
import { childMigration, connect, startMigrateChild } from './migrate-support';

const MIGRATION = '20261129100100000_reservation-table-overlaps';
const ALL = fs
  .readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => f.replace(/\.sql$/, ''));
const EARLIER = ALL.slice(0, ALL.indexOf(MIGRATION));
const FROM_THIS_ONE = ALL.slice(ALL.indexOf(MIGRATION));

let cluster: PostgresCluster;
let db: Client;
let restaurant: string;
let tableA: string;
let tableB: string;
/** Reservation ids by name. */
const ids: Record<string, string> = {};

const applied = async () => (await db.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY id')).rows.map((r) => r.name);
const hasColumn = async () =>
  (await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'reservations' AND column_name = 'duration_minutes'`)).rows.length === 1;
const reservations = async () => (await db.query('SELECT id::text, table_id::text, reservation_date::text, reservation_time::text, status FROM reservations ORDER BY id')).rows;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  db = await connect(cluster);
  expect(childMigration(await startMigrateChild(cluster, 'up', { count: EARLIER.length }).done).names).toEqual(EARLIER);
  restaurant = (await db.query<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ('cafe', 'Cafe', 'Asia/Bangkok', 'THB') RETURNING id::text`)).rows[0]!.id;
  [tableA, tableB] = (await db.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'A', 4), ($1, 'B', 4) RETURNING id::text`, [restaurant])).rows.map((r) => r.id) as [string, string];
  // What the API accepted before: pairs that overlap under the new rule, and rows that do not count.
  const rows: [string, string | null, string, string, string][] = [
    ['a19', tableA, '2030-05-01', '19:00', 'pending'],
    ['a20', tableA, '2030-05-01', '20:00', 'confirmed'], // overlaps a19 (120 minutes from 19:00)
    ['a2030Cancelled', tableA, '2030-05-01', '20:30', 'cancelled'],
    ['a2030NoShow', tableA, '2030-05-01', '20:30', 'no_show'],
    ['aCompleted', tableA, '2030-05-02', '19:00', 'completed'],
    ['aSeated', tableA, '2030-05-02', '19:30', 'seated'], // the completed one has freed the table
    ['a21', tableA, '2030-05-02', '21:30', 'pending'], // starts as aSeated's slot ends
    ['b18', tableB, '2030-05-03', '18:00', 'seated'],
    ['b1959', tableB, '2030-05-03', '19:59', 'pending'], // overlaps b18 by one minute
    ['b19', tableB, '2030-05-01', '19:00', 'pending'], // a19's time at another table
    ['none1', null, '2030-05-01', '19:00', 'pending'],
    ['none2', null, '2030-05-01', '19:00', 'pending'], // no table, no overlap
  ];
  for (const [name, table, date, time, status] of rows) {
    ids[name] = (
      await db.query<{ id: string }>(
        `INSERT INTO reservations (restaurant_id, table_id, guest_name, reservation_date, reservation_time, party_size, status) VALUES ($1, $2, $3, $4, $5, 2, $6) RETURNING id::text`,
        [restaurant, table, name, date, time, status],
      )
    ).rows[0]!.id;
  }
}, 60_000);

afterAll(async () => {
  await db?.end();
  await cluster?.stop();
});

describe('migration reservation-table-overlaps on a database with overlapping bookings', () => {
  test('refuses, naming every overlapping pair of active bookings and how to resolve them; nothing is applied or changed', async () => {
    const before = await reservations();
    const run = await startMigrateChild(cluster, 'up').done;
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'reservations_table_overlap_excl: 2 pair(s) of active reservations (pending, confirmed or seated) hold one table at overlapping times; ' +
        'resolve each pair (PATCH /v1/restaurants/:restaurantId/reservations/:reservationId/status to cancelled, no_show or completed) and run the migration again. ' +
        `restaurant ${restaurant} table ${tableA}: reservations ${ids.a19} (2030-05-01 19:00, 120 min) and ${ids.a20} (2030-05-01 20:00, 120 min); ` +
        `restaurant ${restaurant} table ${tableB}: reservations ${ids.b18} (2030-05-03 18:00, 120 min) and ${ids.b1959} (2030-05-03 19:59, 120 min)`,
    );
    expect(await applied()).toEqual(EARLIER);
    expect(await hasColumn()).toBe(false);
    expect((await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'`)).rows).toEqual([]);
    expect(await reservations()).toEqual(before);
  });

  test('applies once each pair is resolved: every booking is kept and holds its table for 120 minutes', async () => {
    await db.query(`UPDATE reservations SET status = 'cancelled' WHERE id = $1`, [ids.a20]);
    await db.query(`UPDATE reservations SET status = 'completed' WHERE id = $1`, [ids.b18]);
    const before = await reservations();
    expect(childMigration(await startMigrateChild(cluster, 'up').done).names).toEqual(FROM_THIS_ONE);
    expect(await reservations()).toEqual(before);
    const { rows } = await db.query<{ durations: number[] }>('SELECT array_agg(DISTINCT duration_minutes) AS durations FROM reservations');
    expect(rows[0]!.durations).toEqual([120]);
    const constraint = await db.query<{ definition: string }>(`SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conname = 'reservations_table_overlap_excl'`);
    expect(constraint.rows).toEqual([
      {
        definition:
          "EXCLUDE USING gist (table_id WITH =, reservation_slot(reservation_date, reservation_time, duration_minutes) WITH &&) WHERE (((table_id IS NOT NULL) AND (status = ANY (ARRAY['pending'::text, 'confirmed'::text, 'seated'::text]))))",
      },
    ]);
  });

  test.each([
    ['an overlapping active booking', `INSERT INTO reservations (restaurant_id, table_id, guest_name, reservation_date, reservation_time, party_size) VALUES (:restaurant, :tableA, 'X', '2030-05-01', '20:59', 2)`],
    ['a cancelled booking made active again', `UPDATE reservations SET status = 'pending' WHERE id = :a20`],
    ['a booking lengthened into the next one', `UPDATE reservations SET duration_minutes = 121 WHERE id = :aSeated`],
    ['a booking moved onto another table that is taken', `UPDATE reservations SET table_id = :tableA WHERE id = :b19`],
  ])('the constraint refuses %s, whoever writes it', async (_what, statement) => {
    const bound = statement.replace(/:([a-zA-Z]\w*)/g, (_m, name: string) => ({ restaurant, tableA, tableB })[name as 'restaurant'] ?? ids[name]!);
    await expect(db.query(bound)).rejects.toThrow(/conflicting key value violates exclusion constraint "reservations_table_overlap_excl"/);
  });

  test.each([
    ['a duration under 15 minutes', 14],
    ['a duration over 12 hours', 721],
  ])('refuses %s', async (_what, minutes) => {
    await expect(db.query('UPDATE reservations SET duration_minutes = $2 WHERE id = $1', [ids.none1, minutes])).rejects.toThrow(/reservations_duration_minutes_check/);
  });

  test('down removes the constraint, its function and the column; up applies it again', async () => {
    expect(childMigration(await startMigrateChild(cluster, 'down', { count: FROM_THIS_ONE.length }).done).names).toEqual([...FROM_THIS_ONE].reverse());
    expect(await hasColumn()).toBe(false);
    expect((await db.query(`SELECT 1 FROM pg_constraint WHERE conname = 'reservations_table_overlap_excl'`)).rows).toEqual([]);
    expect((await db.query(`SELECT to_regprocedure('reservation_slot(date, time, integer)') AS f`)).rows).toEqual([{ f: null }]);
    expect(childMigration(await startMigrateChild(cluster, 'up').done).names).toEqual(FROM_THIS_ONE);
    expect(await hasColumn()).toBe(true);
  });
});

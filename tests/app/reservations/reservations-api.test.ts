/** The reservation routes (app/src/reservations) against a real PostgreSQL primary and streaming replica. */
import { registerReservationRoutes } from '../../../app/src/reservations/reservation-routes';
import { eventually } from '../db/database-manager-fixtures';
import { connect } from '../db/migrate-support';
import { localDate, startHarness, type Harness } from '../tables/restaurant-api-harness';

let h: Harness;
const path = (restaurant = h.seed.restaurant) => `/restaurants/${restaurant}/reservations`;
const booking = (overrides: Record<string, unknown> = {}) => ({
  guest_name: 'Somchai',
  reservation_date: '2030-05-01',
  reservation_time: '19:30',
  party_size: 4,
  ...overrides,
});

beforeAll(async () => {
  h = await startHarness((v1, kit, db) => void registerReservationRoutes(v1, kit, { db }));
}, 120_000);
afterAll(() => h?.close());

/** Every reservation's id, status and updated_at: any write shows up here. */
async function snapshot(): Promise<string> {
  const { rows } = await h.sql.query<{ s: string | null }>(`SELECT count(*) || '|' || coalesce(string_agg(id || ':' || status || ':' || updated_at, ',' ORDER BY id), '') AS s FROM reservations`);
  return rows[0]!.s!;
}

describe('POST reservations', () => {
  test('201 with the booking as stored; the day list shows it at once', async () => {
    const staff = await h.token('staff');
    const created = await h.call('POST', path(), { token: staff, body: booking({ table_id: h.seed.tables[1], notes: 'window seat', reservation_date: '2030-04-01' }) });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9]+$/),
      table_id: h.seed.tables[1],
      guest_name: 'Somchai',
      reservation_date: '2030-04-01',
      reservation_time: '19:30',
      party_size: 4,
      duration_minutes: 120,
      status: 'pending',
      notes: 'window seat',
      created_at: expect.stringMatching(/Z$/),
      updated_at: expect.stringMatching(/Z$/),
    });
    const day = await h.call('GET', `${path()}?date=2030-04-01`, { token: staff });
    expect(day.status).toBe(200);
    expect(day.body).toEqual({ reservations: [created.body], next_cursor: null });
    // A table id may also be sent as a JSON number; without one the booking has no table.
    const numeric = await h.call('POST', path(), { token: staff, body: booking({ table_id: Number(h.seed.tables[2]), reservation_date: '2030-04-02' }) });
    expect(numeric.body.table_id).toBe(h.seed.tables[2]);
    const tableless = await h.call('POST', path(), { token: staff, body: booking({ reservation_date: '2030-04-02' }) });
    expect(tableless.body).toMatchObject({ table_id: null, notes: null });
  });

  test("a table of another restaurant is a 422 naming body.table_id, and nothing is written", async () => {
    const before = await snapshot();
    const r = await h.call('POST', path(), { token: await h.token('manager'), body: booking({ table_id: h.seed.otherTable }) });
    expect(r.status).toBe(422);
    expect(r.body.error.message).toMatch(/^body\.table_id: /);
    expect(r.body.error.details).toEqual({ field: 'body.table_id', table_id: h.seed.otherTable });
    expect(await snapshot()).toBe(before);
  });

  test('a table deleted between the check and the insert is the same 422 (the foreign key), not a 500', async () => {
    const table = (await h.sql.query<{ id: string }>(`INSERT INTO tables (restaurant_id, label, seats) VALUES ($1, 'Doomed', 2) RETURNING id::text`, [h.seed.restaurant])).rows[0]!.id;
    const before = await snapshot();
    const deleter = await connect(h.cluster);
    try {
      // The uncommitted DELETE leaves the row visible to the API's check, and its foreign key check
      // waits for this transaction; committing then makes that check fail.
      await deleter.query('BEGIN');
      await deleter.query('DELETE FROM tables WHERE id = $1', [table]);
      const pending = h.call('POST', path(), { token: await h.token('staff'), body: booking({ table_id: table }) });
      await eventually('the insert to wait for the deleting transaction', async () => {
        const { rows } = await h.sql.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'`);
        return rows.length > 0;
      });
      await deleter.query('COMMIT');
      const r = await pending;
      expect(r.status).toBe(422);
      expect(r.body.error.details).toMatchObject({ field: 'body.table_id' });
    } finally {
      await deleter.end();
    }
    expect(await snapshot()).toBe(before);
  });
});

describe('a booking that starts in the past: 422 naming the field, nothing written', () => {
  /**
   * A restaurant whose wall clock reads 12:xx right now (a fixed-offset Etc/GMT zone picked from
   * the current UTC hour): its today has an earlier and a later time, hours away.
   */
  async function restaurantAtMidday(): Promise<{ id: string; zone: string; today: string }> {
    const offset = ((12 - new Date().getUTCHours() + 36) % 24) - 12;
    const zone = offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
    const id = (await h.sql.query<{ id: string }>(`INSERT INTO restaurants (slug, name, timezone, currency) VALUES ($1, 'Midday', $2, 'THB') RETURNING id::text`, [`midday-${Date.now()}`, zone])).rows[0]!.id;
    return { id, zone, today: localDate(new Date(), zone) };
  }

  test("yesterday in the restaurant's timezone names body.reservation_date", async () => {
    const yesterday = localDate(new Date(Date.now() - 24 * 3600_000), 'Asia/Bangkok');
    const before = await snapshot();
    const r = await h.call('POST', path(), { token: await h.token('staff'), body: booking({ reservation_date: yesterday, table_id: h.seed.tables[4] }) });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'unprocessable', details: { field: 'body.reservation_date' } });
    expect(r.body.error.message).toMatch(/^body\.reservation_date: must not be in the past \(it is \d{4}-\d{2}-\d{2} \d{2}:\d{2} in Asia\/Bangkok\)$/);
    expect(await snapshot()).toBe(before);
  });

  test('an earlier time of today names body.reservation_time; a later time of today is booked', async () => {
    const midday = await restaurantAtMidday();
    const staff = await h.token('staff', { restaurant: midday.id });
    const before = await snapshot();
    const r = await h.call('POST', path(midday.id), { token: staff, body: booking({ reservation_date: midday.today, reservation_time: '00:00' }) });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'unprocessable', details: { field: 'body.reservation_time' } });
    expect(r.body.error.message).toMatch(new RegExp(`^body\\.reservation_time: must not be in the past \\(it is ${midday.today} \\d{2}:\\d{2} in ${midday.zone.replace('+', '\\+')}\\)$`));
    expect(await snapshot()).toBe(before);
    const later = await h.call('POST', path(midday.id), { token: staff, body: booking({ reservation_date: midday.today, reservation_time: '23:59' }) });
    expect(later.status).toBe(201);
  });
});

describe('one table, one party at a time: an overlapping booking is a 409 reservation_conflict', () => {
  let day = 0;
  /** A date of its own per booking pair, so cases never see each other's bookings. */
  const freshDate = () => `2031-01-${String(++day).padStart(2, '0')}`;

  const expectConflict = (r: { status: number; body: any }, table: string) => {
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'reservation_conflict', details: { field: 'body.table_id', table_id: table } });
  };

  test('the error names the table and the slot asked for, and nothing is written', async () => {
    const staff = await h.token('staff');
    const table = h.seed.tables[3]!;
    const date = freshDate();
    expect((await h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: date, reservation_time: '19:00' }) })).status).toBe(201);
    const before = await snapshot();
    const r = await h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: date, reservation_time: '20:30', duration_minutes: 90 }) });
    expectConflict(r, table);
    expect(r.body.error.message).toBe(`table ${table} is already reserved at a time overlapping ${date} 20:30 for 90 minutes`);
    expect(await snapshot()).toBe(before);
  });

  // Against a booking of T4 from 19:00 for 120 minutes (until 21:00).
  test.each([
    ['starting during it', { reservation_time: '20:59' }],
    ['ending during it', { reservation_time: '18:00', duration_minutes: 61 }],
    ['around it', { reservation_time: '18:00', duration_minutes: 240 }],
  ] as const)('a booking %s is refused', async (_name, overrides) => {
    const staff = await h.token('staff');
    const table = h.seed.tables[3]!;
    const date = freshDate();
    expect((await h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: date, reservation_time: '19:00' }) })).status).toBe(201);
    const before = await snapshot();
    expectConflict(await h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: date, ...overrides }) }), table);
    expect(await snapshot()).toBe(before);
  });

  test('bookings that end as it starts, start as it ends, or take another table or none are booked, and hold their own slots', async () => {
    const staff = await h.token('staff');
    const table = h.seed.tables[3]!;
    const date = freshDate();
    const book = (overrides: Record<string, unknown>) => h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: date, ...overrides }) });
    expect((await book({ reservation_time: '19:00' })).status).toBe(201);
    const touching = [
      await book({ reservation_time: '17:30', duration_minutes: 90 }),
      await book({ reservation_time: '21:00' }),
      await book({ reservation_time: '19:00', table_id: h.seed.tables[4] }),
      await book({ reservation_time: '19:00', table_id: undefined }),
    ];
    expect(touching.map((r) => [r.status, r.body.table_id, r.body.reservation_time, r.body.duration_minutes])).toEqual([
      [201, table, '17:30', 90],
      [201, table, '21:00', 120],
      [201, h.seed.tables[4], '19:00', 120],
      [201, null, '19:00', 120],
    ]);
    // T4 is now taken from 17:30 to 23:00, T5 from 19:00 to 21:00.
    expectConflict(await book({ reservation_time: '17:45', duration_minutes: 15 }), table);
    expectConflict(await book({ reservation_time: '22:45', duration_minutes: 15 }), table);
    expectConflict(await book({ reservation_time: '20:45', duration_minutes: 15, table_id: h.seed.tables[4] }), h.seed.tables[4]!);
  });

  test('a booking late in the evening holds the table past midnight', async () => {
    const staff = await h.token('staff');
    const table = h.seed.tables[3]!;
    expect((await h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: '2031-02-27', reservation_time: '23:30' }) })).status).toBe(201);
    expectConflict(await h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: '2031-02-28', reservation_time: '00:30' }) }), table);
  });

  test.each([
    ['cancelled', 201, ['cancelled']],
    ['no_show', 201, ['no_show']],
    ['completed', 201, ['confirmed', 'seated', 'completed']],
    ['confirmed', 409, ['confirmed']],
    ['seated', 409, ['confirmed', 'seated']],
  ] as const)('a %s booking of the table: an overlapping one answers %i', async (_status, status, steps) => {
    const staff = await h.token('staff');
    const table = h.seed.tables[3]!;
    const date = freshDate();
    const book = (time: string) => h.call('POST', path(), { token: staff, body: booking({ table_id: table, reservation_date: date, reservation_time: time }) });
    const first = await book('19:00');
    for (const step of steps) expect((await h.call('PATCH', `${path()}/${first.body.id}/status`, { token: staff, body: { status: step } })).status).toBe(200);
    const r = await book('19:30');
    if (status === 409) {
      expectConflict(r, table);
    } else {
      expect(r.status).toBe(201);
      // The freed slot is the new booking's now.
      expectConflict(await book('20:00'), table);
    }
  });

  test.each([
    ['commits', 409, 'COMMIT'],
    ['rolls back', 201, 'ROLLBACK'],
  ] as const)('a booking racing an uncommitted overlapping one waits for it: when that one %s, %i', async (_outcome, status, end) => {
    const table = h.seed.tables[3]!;
    const date = freshDate();
    const other = await connect(h.cluster);
    try {
      await other.query('BEGIN');
      await other.query(`INSERT INTO reservations (restaurant_id, table_id, guest_name, reservation_date, reservation_time, party_size) VALUES ($1, $2, 'Racer', $3, '19:00', 2)`, [h.seed.restaurant, table, date]);
      const pending = h.call('POST', path(), { token: await h.token('staff'), body: booking({ table_id: table, reservation_date: date, reservation_time: '20:00' }) });
      await eventually('the insert to wait for the other transaction', async () => {
        const { rows } = await h.sql.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'`);
        return rows.length > 0;
      });
      await other.query(end);
      const r = await pending;
      if (status === 409) expectConflict(r, table);
      else expect(r.status).toBe(201);
      const { rows } = await h.sql.query<{ guest_name: string }>('SELECT guest_name FROM reservations WHERE table_id = $1 AND reservation_date = $2 ORDER BY id', [table, date]);
      expect(rows.map((x) => x.guest_name)).toEqual(status === 409 ? ['Racer'] : ['Somchai']);
    } finally {
      await other.end();
    }
  });
});

describe('GET reservations', () => {
  test('pages of a day by time then id return every booking once; other days and restaurants are not mixed in', async () => {
    const staff = await h.token('staff');
    const times = ['21:00', '18:00', '19:30', '18:00', '12:15', '19:30', '20:45'];
    const ids: { time: string; id: string }[] = [];
    for (const time of times) {
      const r = await h.call('POST', path(), { token: staff, body: booking({ reservation_date: '2030-06-15', reservation_time: time }) });
      ids.push({ time, id: r.body.id });
    }
    await h.call('POST', path(), { token: staff, body: booking({ reservation_date: '2030-06-16' }) });
    await h.sql.query(`INSERT INTO reservations (restaurant_id, guest_name, reservation_date, reservation_time, party_size) VALUES ($1, 'Elsewhere', '2030-06-15', '19:00', 2)`, [h.seed.other]);
    const expected = [...ids].sort((a, b) => (a.time === b.time ? Number(a.id) - Number(b.id) : a.time < b.time ? -1 : 1)).map((x) => x.id);

    const seen: { id: string; reservation_time: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `?date=2030-06-15&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await h.call('GET', `${path()}${q}`, { token: staff });
      expect(r.status).toBe(200);
      expect(r.body.reservations.length).toBeLessThanOrEqual(3);
      seen.push(...r.body.reservations);
      cursor = r.body.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen.map((x) => x.id)).toEqual(expected);
    expect(seen[0]!.reservation_time).toBe('12:15');
  });

  test('?status= filters', async () => {
    const staff = await h.token('staff');
    const a = await h.call('POST', path(), { token: staff, body: booking({ reservation_date: '2030-07-01' }) });
    await h.call('POST', path(), { token: staff, body: booking({ reservation_date: '2030-07-01' }) });
    await h.call('PATCH', `${path()}/${a.body.id}/status`, { token: staff, body: { status: 'confirmed' } });
    const confirmed = await h.call('GET', `${path()}?date=2030-07-01&status=confirmed`, { token: staff });
    expect(confirmed.body.reservations.map((x: { id: string }) => x.id)).toEqual([a.body.id]);
  });
});

describe('status machine', () => {
  const create = async () => (await h.call('POST', path(), { token: await h.token('staff'), body: booking({ reservation_date: '2030-08-01' }) })).body.id as string;
  const patch = async (id: string, status: string) => h.call('PATCH', `${path()}/${id}/status`, { token: await h.token('manager'), body: { status } });

  test('pending → confirmed → seated → completed; nothing after completed', async () => {
    const id = await create();
    for (const status of ['confirmed', 'seated', 'completed']) {
      const r = await patch(id, status);
      expect(r.status).toBe(200);
      expect(r.body.status).toBe(status);
    }
    const after = await patch(id, 'cancelled');
    expect(after.status).toBe(409);
    expect(after.body.error).toMatchObject({ code: 'invalid_transition', message: 'cannot change status from completed to cancelled', details: { from: 'completed', to: 'cancelled' } });
  });

  test.each([
    ['pending', 'cancelled', 200],
    ['pending', 'no_show', 200],
    ['confirmed', 'cancelled', 200],
    ['confirmed', 'no_show', 200],
    ['pending', 'seated', 409],
    ['pending', 'completed', 409],
    ['seated', 'cancelled', 409],
    ['seated', 'no_show', 409],
    ['confirmed', 'pending', 409],
  ] as const)('%s → %s answers %i', async (from, to, status) => {
    const id = await create();
    const path_: string[] = { pending: [], confirmed: ['confirmed'], seated: ['confirmed', 'seated'] }[from];
    for (const step of path_) expect((await patch(id, step)).status).toBe(200);
    const before = await snapshot();
    const r = await patch(id, to);
    expect(r.status).toBe(status);
    const stored = (await h.sql.query<{ status: string }>('SELECT status FROM reservations WHERE id = $1', [id])).rows[0]!.status;
    expect(stored).toBe(status === 200 ? to : from);
    if (status === 409) expect(await snapshot()).toBe(before);
  });

  test('an unknown reservation, or one of another restaurant, is a 404', async () => {
    const elsewhere = (await h.sql.query<{ id: string }>(`INSERT INTO reservations (restaurant_id, guest_name, reservation_date, reservation_time, party_size) VALUES ($1, 'X', '2030-08-01', '12:00', 2) RETURNING id::text`, [h.seed.other])).rows[0]!.id;
    expect((await patch('999999999', 'confirmed')).status).toBe(404);
    const r = await patch(elsewhere, 'confirmed');
    expect(r.status).toBe(404);
    expect((await h.sql.query('SELECT status FROM reservations WHERE id = $1', [elsewhere])).rows[0]).toEqual({ status: 'pending' });
  });
});

describe('authorization', () => {
  test('guests and kitchen screens get 403 on every route; staff of another restaurant too; nothing is written', async () => {
    const id = (await h.call('POST', path(), { token: await h.token('staff'), body: booking() })).body.id as string;
    const before = await snapshot();
    const tokens = [await h.token('guest'), await h.token('kitchen'), await h.token('manager', { restaurant: h.seed.other })];
    for (const token of tokens) {
      expect((await h.call('GET', `${path()}?date=2030-05-01`, { token })).status).toBe(403);
      expect((await h.call('POST', path(), { token, body: booking() })).status).toBe(403);
      expect((await h.call('PATCH', `${path()}/${id}/status`, { token, body: { status: 'confirmed' } })).status).toBe(403);
    }
    expect((await h.call('POST', path(), { body: booking() })).status).toBe(401);
    expect(await snapshot()).toBe(before);
  });
});

describe('bad input: 400 naming the field, nothing written', () => {
  const post = (body: unknown) => ({ method: 'POST', path: path(), body });
  const cases: [string, () => { method: string; path: string; body?: unknown; raw?: string }, RegExp][] = [
    ['list without a date', () => ({ method: 'GET', path: path() }), /^query\.date: must be a date/],
    ['list with a day that does not exist', () => ({ method: 'GET', path: `${path()}?date=2030-02-30` }), /^query\.date: must be a date/],
    ['limit over the cap', () => ({ method: 'GET', path: `${path()}?date=2030-05-01&limit=101` }), /^query\.limit: must be at most 100/],
    ['limit zero', () => ({ method: 'GET', path: `${path()}?date=2030-05-01&limit=0` }), /^query\.limit: must be at least 1/],
    ['garbage cursor', () => ({ method: 'GET', path: `${path()}?date=2030-05-01&cursor=${Buffer.from('["7pm","x"]').toString('base64url')}` }), /^query\.cursor: is not a valid cursor/],
    ['unknown status filter', () => ({ method: 'GET', path: `${path()}?date=2030-05-01&status=late` }), /^query\.status: must be one of/],
    ['bad restaurant id', () => ({ method: 'GET', path: '/restaurants/-1/reservations?date=2030-05-01' }), /^params\.restaurantId: /],
    ['missing guest_name', () => post({ ...booking(), guest_name: undefined }), /^body\.guest_name: /],
    ['blank guest_name', () => post(booking({ guest_name: '   ' })), /^body\.guest_name: must not be empty/],
    ['time 24:00', () => post(booking({ reservation_time: '24:00' })), /^body\.reservation_time: must be a time/],
    ['time with seconds', () => post(booking({ reservation_time: '19:30:00' })), /^body\.reservation_time: must be a time/],
    ['date in another format', () => post(booking({ reservation_date: '01/05/2030' })), /^body\.reservation_date: must be a date/],
    ['party of 0', () => post(booking({ party_size: 0 })), /^body\.party_size: must be at least 1/],
    ['party of 2.5', () => post(booking({ party_size: 2.5 })), /^body\.party_size: must be an integer/],
    ['duration of 10 minutes', () => post(booking({ duration_minutes: 10 })), /^body\.duration_minutes: must be at least 15/],
    ['duration of 721 minutes', () => post(booking({ duration_minutes: 721 })), /^body\.duration_minutes: must be at most 720/],
    ['duration of 90.5 minutes', () => post(booking({ duration_minutes: 90.5 })), /^body\.duration_minutes: must be an integer/],
    ['malformed table_id', () => post(booking({ table_id: 'T1' })), /^body\.table_id: must be a positive integer id/],
    ['extra field', () => post(booking({ vip: true })), /^body\.vip: is not allowed/],
    ['notes over 1000 characters', () => post(booking({ notes: 'n'.repeat(1001) })), /^body\.notes: must be at most 1000/],
    ['unknown status', () => ({ method: 'PATCH', path: `${path()}/1/status`, body: { status: 'late' } }), /^body\.status: must be one of pending, confirmed/],
    ['bad reservation id', () => ({ method: 'PATCH', path: `${path()}/x1/status`, body: { status: 'confirmed' } }), /^params\.reservationId: must be a positive integer id/],
  ];

  test.each(cases)('%s', async (_name, build, naming) => {
    const request = build();
    const before = await snapshot();
    const r = await h.call(request.method, request.path, { token: await h.token('staff'), body: request.body, raw: request.raw });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.message).toMatch(naming);
    expect(await snapshot()).toBe(before);
  });
});

/** The table routes (app/src/tables) against a real PostgreSQL primary and streaming replica. */
import { registerTableRoutes } from '../../../app/src/tables/table-routes';
import { startHarness, type Harness } from './restaurant-api-harness';

let h: Harness;
const path = (restaurant = h.seed.restaurant) => `/restaurants/${restaurant}/tables`;

beforeAll(async () => {
  h = await startHarness((v1, kit, db) => void registerTableRoutes(v1, kit, { db }));
}, 120_000);
afterAll(() => h?.close());

/** Every table's status and updated_at: any write shows up here. */
async function snapshot(): Promise<string> {
  const { rows } = await h.sql.query<{ s: string }>(`SELECT string_agg(id || ':' || status || ':' || updated_at, ',' ORDER BY id) AS s FROM tables`);
  return rows[0]!.s;
}

describe('GET tables', () => {
  test.each(['staff', 'manager', 'kitchen'] as const)('%s reads the floor plan of its restaurant, ordered by label', async (role) => {
    const r = await h.call('GET', path(), { token: await h.token(role) });
    expect(r.status).toBe(200);
    expect(r.body.tables.map((t: { id: string }) => t.id)).toEqual(h.seed.tables);
    expect(r.body.tables[0]).toEqual({ id: h.seed.tables[0], label: 'T1', seats: 3, status: expect.any(String), updated_at: expect.stringMatching(/Z$/) });
    expect(r.body.tables.map((t: { id: string }) => t.id)).not.toContain(h.seed.otherTable);
  });

  test('?status= filters, and a change is visible to the next read at once (read-your-writes)', async () => {
    const staff = await h.token('staff');
    const table = h.seed.tables[3]!;
    const changed = await h.call('PATCH', `${path()}/${table}/status`, { token: staff, body: { status: 'cleaning' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: table, status: 'cleaning' });
    const cleaning = await h.call('GET', `${path()}?status=cleaning`, { token: staff });
    expect(cleaning.body.tables.map((t: { id: string }) => t.id)).toEqual([table]);
    const available = await h.call('GET', `${path()}?status=available`, { token: staff });
    expect(available.body.tables.map((t: { id: string }) => t.id)).not.toContain(table);
    expect((await h.sql.query('SELECT status FROM tables WHERE id = $1', [table])).rows[0]).toEqual({ status: 'cleaning' });
  });
});

describe('PATCH table status', () => {
  test('a manager moves a table through every status', async () => {
    const manager = await h.token('manager');
    const table = h.seed.tables[4]!;
    for (const status of ['occupied', 'reserved', 'out_of_service', 'available']) {
      const r = await h.call('PATCH', `${path()}/${table}/status`, { token: manager, body: { status } });
      expect(r.status).toBe(200);
      expect(r.body.status).toBe(status);
    }
  });

  test('guests and kitchen screens may not change a table; guests may not read the floor plan', async () => {
    const before = await snapshot();
    const guest = await h.token('guest');
    expect((await h.call('GET', path(), { token: guest })).status).toBe(403);
    expect((await h.call('PATCH', `${path()}/${h.seed.tables[0]}/status`, { token: guest, body: { status: 'occupied' } })).status).toBe(403);
    expect((await h.call('PATCH', `${path()}/${h.seed.tables[0]}/status`, { token: await h.token('kitchen'), body: { status: 'occupied' } })).status).toBe(403);
    expect((await h.call('GET', path())).status).toBe(401);
    expect(await snapshot()).toBe(before);
  });

  test("staff of another restaurant gets 403 for this restaurant's tables, and nothing is written", async () => {
    const foreign = await h.token('staff', { restaurant: h.seed.other });
    const before = await snapshot();
    expect((await h.call('GET', path(), { token: foreign })).status).toBe(403);
    expect((await h.call('PATCH', `${path()}/${h.seed.tables[0]}/status`, { token: foreign, body: { status: 'occupied' } })).status).toBe(403);
    expect(await snapshot()).toBe(before);
  });

  test("a table of another restaurant, addressed under one's own restaurant, is a 404 and stays unchanged", async () => {
    const before = await snapshot();
    const r = await h.call('PATCH', `${path()}/${h.seed.otherTable}/status`, { token: await h.token('staff'), body: { status: 'occupied' } });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toBe('table not found');
    expect(await snapshot()).toBe(before);
  });
});

describe('bad input: 400 naming the field, nothing written', () => {
  const cases: [string, () => { method: string; path: string; body?: unknown; raw?: string }, RegExp][] = [
    ['unknown status filter', () => ({ method: 'GET', path: `${path()}?status=dirty` }), /^query\.status: must be one of available, occupied/],
    ['unknown query parameter', () => ({ method: 'GET', path: `${path()}?sort=label` }), /^query\.sort: is not allowed/],
    ['bad restaurant id', () => ({ method: 'GET', path: '/restaurants/abc/tables' }), /^params\.restaurantId: must be a positive integer id/],
    ['bad table id', () => ({ method: 'PATCH', path: `${path()}/0/status`, body: { status: 'occupied' } }), /^params\.tableId: must be a positive integer id/],
    ['unknown status', () => ({ method: 'PATCH', path: `${path()}/${h.seed.tables[0]}/status`, body: { status: 'dirty' } }), /^body\.status: must be one of/],
    ['missing status', () => ({ method: 'PATCH', path: `${path()}/${h.seed.tables[0]}/status`, body: {} }), /^body\.status: /],
    ['extra field', () => ({ method: 'PATCH', path: `${path()}/${h.seed.tables[0]}/status`, body: { status: 'occupied', seats: 8 } }), /^body\.seats: is not allowed/],
  ];

  test.each(cases)('%s', async (_name, build, naming) => {
    const request = build();
    const before = await snapshot();
    const r = await h.call(request.method, request.path, { token: await h.token('manager'), body: request.body, raw: request.raw });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.message).toMatch(naming);
    expect(await snapshot()).toBe(before);
  });
});

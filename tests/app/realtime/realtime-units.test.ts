/** The pieces of the realtime service: stream ids, the delivery cursor, retention rules, rooms, the client message schema, client backoff. */
import type { AuthClaims } from '../../../app/src/auth/claims';
import { backoffDelayMs } from '../../../app/src/realtime/client';
import { parseClientMessage } from '../../../app/src/realtime/protocol';
import { DeliveryCursor, outsideWindow, trimmedPast } from '../../../app/src/realtime/replay';
import { roomFor, roomKeysForEvent, RoomRegistry } from '../../../app/src/realtime/rooms';
import { decodeEntry, type DeliverableEntry } from '../../../app/src/realtime/stream-entry';
import { compareStreamIds, isStreamId } from '../../../app/src/realtime/stream-ids';
import { orderEvent } from './support';

const entry = (id: string, restaurantId = '1', tableId: string | null = '1'): DeliverableEntry =>
  decodeEntry(restaurantId, id, ['event', JSON.stringify(orderEvent(restaurantId, tableId))])!;

describe('stream ids', () => {
  test.each([
    ['9-0', '10-0', -1],
    ['10-0', '9-0', 1],
    ['5-9', '5-10', -1],
    ['5-10', '5-10', 0],
    ['1718000000000-18446744073709551615', '1718000000001-0', -1],
    ['0-0', '1-0', -1],
  ])('compare(%s, %s) = %d (numeric, not lexicographic)', (a, b, sign) => {
    expect(Math.sign(compareStreamIds(a, b))).toBe(sign);
  });

  test.each(['1-0', '1718000000000-5', '0-0'])('accepts %s', (id) => expect(isStreamId(id)).toBe(true));
  test.each(['', '1', '01-0', '1-01', '-1-0', '1-0 ', 'abc', '1-0-0', '$', '+'])('rejects %j', (id) => expect(isStreamId(id)).toBe(false));
});

describe('DeliveryCursor', () => {
  test('live: sends each id once, in order, and drops what is at or before the position', () => {
    const cursor = new DeliveryCursor('5-0', 10);
    expect(cursor.offerLive(entry('4-0'))).toBe('duplicate');
    expect(cursor.offerLive(entry('5-0'))).toBe('duplicate');
    expect(cursor.offerLive(entry('6-0'))).toBe('send');
    expect(cursor.offerLive(entry('6-0'))).toBe('duplicate');
    expect(cursor.position).toBe('6-0');
  });

  test('replay overlapping the buffered live events yields every id exactly once, in order', () => {
    const cursor = new DeliveryCursor('0-0', 10);
    cursor.beginReplay('2-0');
    // Live events arrive while the replay reads; the replay's XRANGE also sees some of them.
    expect(cursor.offerLive(entry('5-0'))).toBe('buffered');
    expect(cursor.offerLive(entry('6-0'))).toBe('buffered');
    const sent: string[] = [];
    for (const id of ['3-0', '4-0', '5-0']) if (cursor.offerReplayed(entry(id))) sent.push(id);
    expect(cursor.offerLive(entry('7-0'))).toBe('buffered');
    sent.push(...cursor.finishReplay().map((e) => e.id));
    expect(cursor.offerLive(entry('7-0'))).toBe('duplicate');
    expect(cursor.offerLive(entry('8-0'))).toBe('send');
    expect(sent).toEqual(['3-0', '4-0', '5-0', '6-0', '7-0']);
    expect(cursor.isReplaying).toBe(false);
  });

  test('a replay that reads nothing still delivers the buffered live events', () => {
    const cursor = new DeliveryCursor('0-0', 10);
    cursor.beginReplay('9-0');
    cursor.offerLive(entry('10-0'));
    expect(cursor.finishReplay().map((e) => e.id)).toEqual(['10-0']);
  });

  test('skipTo moves forward only (entries of other rooms, resync)', () => {
    const cursor = new DeliveryCursor('5-0', 10);
    cursor.skipTo('3-0');
    expect(cursor.position).toBe('5-0');
    cursor.skipTo('8-0');
    expect(cursor.position).toBe('8-0');
  });

  test('overflows when a replay holds more live events than the bound', () => {
    const cursor = new DeliveryCursor('0-0', 2);
    cursor.beginReplay('0-0');
    expect(cursor.offerLive(entry('1-0'))).toBe('buffered');
    expect(cursor.offerLive(entry('2-0'))).toBe('buffered');
    expect(cursor.offerLive(entry('3-0'))).toBe('overflow');
  });
});

describe('retention rules', () => {
  test.each([
    ['last id at or after the first retained entry', '10-0', { firstId: '10-0', length: 5, entriesAdded: 50 }, false],
    ['entries after last id were trimmed', '9-0', { firstId: '10-0', length: 5, entriesAdded: 50 }, true],
    ['stream never lost an entry (new, or recreated after a restart)', '9-0', { firstId: '10-0', length: 5, entriesAdded: 5 }, false],
    ['empty stream', '9-0', { length: 0, entriesAdded: 0 }, false],
    ['server without entries-added (Redis < 7): conservative', '9-0', { firstId: '10-0', length: 5 }, true],
  ])('trimmedPast: %s', (_name, lastId, retention, expected) => {
    expect(trimmedPast(lastId, retention)).toBe(expected);
  });

  test('outsideWindow compares the first missed entry time with the window', () => {
    const now = 1_000_000_000;
    expect(outsideWindow(`${now - 600_001}-0`, now, 600_000)).toBe(true);
    expect(outsideWindow(`${now - 600_000}-0`, now, 600_000)).toBe(false);
    expect(outsideWindow(`${now}-3`, now, 600_000)).toBe(false);
  });
});

describe('rooms', () => {
  const claims = (c: Partial<AuthClaims>): AuthClaims => ({ sub: 'x', role: 'staff', restaurant_id: '7', ...c }) as AuthClaims;

  test.each([
    ['staff', claims({ role: 'staff' }), { kind: 'restaurant', key: 'restaurant:7' }],
    ['manager', claims({ role: 'manager' }), { kind: 'restaurant', key: 'restaurant:7' }],
    ['kitchen', claims({ role: 'kitchen' }), { kind: 'kitchen', key: 'kitchen:7' }],
    ['guest', claims({ role: 'guest', table_id: '3' }), { kind: 'table', key: 'table:7:3' }],
    ['staff with a table claim still gets the restaurant', claims({ role: 'staff', table_id: '3' }), { kind: 'restaurant', key: 'restaurant:7' }],
  ])('%s', (_name, c, expected) => {
    expect(roomFor(c)).toEqual({ ...expected, restaurantId: '7' });
  });

  test('fails for guest claims without a table', () => {
    expect(() => roomFor(claims({ role: 'guest' }))).toThrow('guest claims without table_id');
  });

  test('an event reaches its restaurant, kitchen and table rooms; one without a table reaches no table', () => {
    expect(roomKeysForEvent({ restaurant_id: '7', table_id: '3' })).toEqual(['restaurant:7', 'kitchen:7', 'table:7:3']);
    expect(roomKeysForEvent({ restaurant_id: '7', table_id: null })).toEqual(['restaurant:7', 'kitchen:7']);
  });

  test('the registry reports the first and last member of a restaurant and counts by kind', () => {
    const registry = new RoomRegistry<string>();
    const table = roomFor(claims({ role: 'guest', table_id: '3' }));
    const staffRoom = roomFor(claims({ role: 'staff' }));
    expect(registry.join(table, 'a')).toBe(true);
    expect(registry.join(staffRoom, 'b')).toBe(false);
    expect(registry.countByKind().get('table')).toBe(1);
    expect(registry.restaurants()).toEqual(['7']);
    expect(registry.leave(table, 'a')).toBe(false);
    expect(registry.leave(table, 'a')).toBe(false); // not a member any more
    expect(registry.leave(staffRoom, 'b')).toBe(true);
    expect(registry.restaurants()).toEqual([]);
    expect(registry.membersOf('table:7:3')).toBeUndefined();
  });
});

describe('stream entries', () => {
  test('decodes an order event of the stream restaurant and serializes it once', () => {
    const event = orderEvent('7', '3');
    const decoded = decodeEntry('7', '1718000000000-1', ['event', JSON.stringify(event)])!;
    expect(JSON.parse(decoded.message.toString())).toEqual({ type: 'event', id: '1718000000000-1', event });
    expect(decoded.appendedAtMs).toBe(1718000000000);
  });

  test.each([
    ['another restaurant in this stream', ['event', JSON.stringify(orderEvent('8', '3'))]],
    ['an unknown version', ['event', JSON.stringify({ ...orderEvent('7', '3'), v: 2 })]],
    ['not JSON', ['event', '{']],
    ['no event field', ['other', '{}']],
  ])('skips %s', (_name, fields) => {
    expect(decodeEntry('7', '1-0', fields)).toBeUndefined();
  });
});

describe('client message schema', () => {
  test.each([
    ['{"type":"resume","last_id":"1718000000000-0"}', { type: 'resume', last_id: '1718000000000-0' }],
    ['{"type":"ping"}', { type: 'ping' }],
  ])('accepts %s', (text, expected) => expect(parseClientMessage(text)).toEqual(expected));

  test.each(['', 'null', '[]', '{"type":"resume"}', '{"type":"resume","last_id":"$"}', '{"type":"ping","x":1}', '{"type":"subscribe"}', '{"last_id":"1-0"}'])(
    'rejects %j',
    (text) => expect(parseClientMessage(text)).toBeUndefined(),
  );
});

describe('client backoff', () => {
  test('full jitter under an exponential ceiling capped at the maximum', () => {
    expect(backoffDelayMs(0, 250, 10_000, () => 0.999)).toBe(249);
    expect(backoffDelayMs(3, 250, 10_000, () => 0.5)).toBe(1000);
    expect(backoffDelayMs(20, 250, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelayMs(5, 250, 10_000, () => 0)).toBe(0);
  });
});

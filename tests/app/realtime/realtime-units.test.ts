/**
 * The pieces of the realtime service: stream ids, the delivery cursor, retention rules, rooms, the
 * client message schema, client backoff, connection caps and the message rate limit.
 */
import type { AuthClaims } from '../../../app/src/auth/claims';
import { backoffDelayMs, connectionLimitDelayMs, RealtimeClient, type WebSocketLike } from '../../../app/src/realtime/client';
import { ConnectionLimits } from '../../../app/src/realtime/connection-limits';
import { MessageRateLimit } from '../../../app/src/realtime/message-rate-limit';
import { CLOSE_CODES, parseClientMessage } from '../../../app/src/realtime/protocol';
import { aheadOfStream, DeliveryCursor, outsideWindow, trimmedPast } from '../../../app/src/realtime/replay';
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

  test('rewindTo moves back only (a client id ahead of the stream), and later events are sent again', () => {
    const cursor = new DeliveryCursor('0-0', 10);
    cursor.beginReplay('900-0');
    cursor.offerLive(entry('11-0'));
    cursor.rewindTo('10-0');
    cursor.rewindTo('20-0');
    expect(cursor.position).toBe('10-0');
    expect(cursor.finishReplay().map((e) => e.id)).toEqual(['11-0']);
    expect(cursor.offerLive(entry('12-0'))).toBe('send');
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

  test.each([
    ['after the last generated id', '11-0', { length: 3, lastGeneratedId: '10-5' }, 0, true],
    ['a later sequence of the same millisecond', '10-6', { length: 3, lastGeneratedId: '10-5' }, 0, true],
    ['the last generated id itself', '10-5', { length: 3, lastGeneratedId: '10-5' }, 0, false],
    ['before it (numerically, not as strings)', '9-0', { length: 3, lastGeneratedId: '10-5' }, 0, false],
    ['a missing stream, id after the Redis clock', '2000-0', { length: 0 }, 1999, true],
    ['a missing stream, id before the Redis clock (a stream that expired or was never written)', '1500-0', { length: 0 }, 1999, false],
  ])('aheadOfStream: %s', (_name, lastId, retention, serverTimeMs, expected) => {
    expect(aheadOfStream(lastId, retention, serverTimeMs)).toBe(expected);
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

describe('connection limits', () => {
  const guest = (sub: string, table: string, restaurant = '7') => ({ sub, role: 'guest' as const, restaurant_id: restaurant, table_id: table });

  test('refuses a subject over its cap, and admits it again once a socket is released', () => {
    const limits = new ConnectionLimits({ maxPerSubject: 2, maxPerTable: 10 });
    const first = limits.admit(guest('g', '1'));
    const second = limits.admit(guest('g', '1'));
    expect([first.admitted, second.admitted]).toEqual([true, true]);
    expect(limits.admit(guest('g', '1'))).toEqual({ admitted: false, limit: 'subject' });
    if (first.admitted) {
      first.release();
      first.release(); // twice is harmless: the count does not go below the open sockets
    }
    expect(limits.subjectCount('g')).toBe(1);
    expect(limits.admit(guest('g', '1')).admitted).toBe(true);
    expect(limits.admit(guest('g', '1'))).toEqual({ admitted: false, limit: 'subject' });
  });

  test('caps a table over all its guests, per restaurant; staff and kitchen have no table', () => {
    const limits = new ConnectionLimits({ maxPerSubject: 5, maxPerTable: 3 });
    for (const sub of ['a', 'b', 'c']) expect(limits.admit(guest(sub, '4')).admitted).toBe(true);
    expect(limits.admit(guest('d', '4'))).toEqual({ admitted: false, limit: 'table' });
    // A refusal takes no slot: the subject is still free.
    expect(limits.subjectCount('d')).toBe(0);
    expect(limits.admit(guest('d', '4', '8')).admitted).toBe(true);
    expect(limits.admit(guest('d', '5')).admitted).toBe(true);
    expect(limits.admit({ sub: 'k', role: 'kitchen', restaurant_id: '7', table_id: '4' }).admitted).toBe(true);
  });

  test.each([
    [{ maxPerSubject: 0, maxPerTable: 1 }, 'maxPerSubject must be a positive integer, got 0'],
    [{ maxPerSubject: 1, maxPerTable: 1.5 }, 'maxPerTable must be a positive integer, got 1.5'],
  ])('fails when a cap is not a positive integer: %j', (options, message) => {
    expect(() => new ConnectionLimits(options)).toThrow(new Error(message));
  });
});

describe('message rate limit', () => {
  test('a burst, then the sustained rate', () => {
    let now = 1_000_000;
    const limit = new MessageRateLimit({ burst: 3, perSecond: 2, nowMs: () => now });
    expect([limit.take(), limit.take(), limit.take(), limit.take()]).toEqual([true, true, true, false]);
    now += 499;
    expect(limit.take()).toBe(false);
    now += 1;
    expect(limit.take()).toBe(true);
    expect(limit.take()).toBe(false);
    now += 60_000; // a long pause refills to the burst, not beyond
    expect([limit.take(), limit.take(), limit.take(), limit.take()]).toEqual([true, true, true, false]);
  });

  test('a clock that goes back refills nothing', () => {
    let now = 5_000;
    const limit = new MessageRateLimit({ burst: 1, perSecond: 1, nowMs: () => now });
    expect(limit.take()).toBe(true);
    now -= 10_000;
    expect(limit.take()).toBe(false);
  });

  test('fails when the burst or rate is not positive', () => {
    expect(() => new MessageRateLimit({ burst: 0, perSecond: 1 })).toThrow(new Error('burst must be a positive number, got 0'));
    expect(() => new MessageRateLimit({ burst: 1, perSecond: -1 })).toThrow(new Error('perSecond must be a positive number, got -1'));
  });
});

describe('client after a connection-limit refusal (4002)', () => {
  /** A socket the test closes by hand; the client's own timers are never awaited. */
  class FakeSocket implements WebSocketLike {
    readyState = 1;
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;
    send(): void {}
    close(): void {}
  }

  async function closedWith(code: number, random: number): Promise<{ willReconnect: boolean; retryInMs?: number }> {
    const sockets: FakeSocket[] = [];
    const closes: { willReconnect: boolean; retryInMs?: number }[] = [];
    const client = new RealtimeClient({
      url: 'ws://realtime.invalid/ws',
      token: 't',
      random: () => random,
      connect: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      onClose: (info) => closes.push(info),
    });
    await new Promise((resolve) => setImmediate(resolve));
    sockets[0]!.onclose!({ code, reason: '' });
    client.close();
    return closes[0]!;
  }

  test('waits between half and all of the limit backoff, however early the attempt', async () => {
    expect(await closedWith(CLOSE_CODES.connectionLimit, 0)).toEqual({ code: 4002, reason: '', willReconnect: true, retryInMs: 15_000 });
    expect((await closedWith(CLOSE_CODES.connectionLimit, 0.999)).retryInMs).toBe(29_985);
    expect(connectionLimitDelayMs(30_000, () => 0.5)).toBe(22_500);
  });

  test('other losses keep the short exponential backoff; a client bug (1008) stops', async () => {
    expect((await closedWith(1006, 0.5)).retryInMs).toBe(125);
    expect(await closedWith(CLOSE_CODES.policyViolation, 0.5)).toMatchObject({ willReconnect: false, retryInMs: undefined });
  });
});

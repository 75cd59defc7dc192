/** WAL positions, read-your-writes tokens and the lag arithmetic: pure logic, no database. */
import { decodeReadYourWritesToken, encodeReadYourWritesToken, laterPosition, ReadYourWritesTracker } from '../../../app/src/db/read-your-writes';
import { PrimaryPositionHistory } from '../../../app/src/db/replica-health';
import { formatWalPosition, MAX_WAL_POSITION, parseWalPosition } from '../../../app/src/db/wal-position';

describe('WAL positions', () => {
  test.each([
    ['0/0', 0n],
    ['0/FFFFFFFF', 0xffffffffn],
    ['1/0', 1n << 32n],
    ['16/B374D848', (0x16n << 32n) | 0xb374d848n],
    ['FFFFFFFF/FFFFFFFF', MAX_WAL_POSITION],
    ['a/1f', (0xan << 32n) | 0x1fn],
  ])('parses %s', (text, expected) => {
    expect(parseWalPosition(text)).toBe(expected);
  });

  test.each([
    ['0/FFFFFFFF', '1/0'],
    ['0/9', '0/10'],
    ['9/0', '10/0'],
    ['0/F', '0/10'],
    ['1/FFFFFFFF', '2/0'],
  ])('orders %s before %s (where text order would not)', (lower, higher) => {
    expect(parseWalPosition(lower) < parseWalPosition(higher)).toBe(true);
    expect(parseWalPosition(higher) >= parseWalPosition(lower)).toBe(true);
  });

  test('orders beyond the 2^53 precision of numbers', () => {
    expect(parseWalPosition('200000/1') > parseWalPosition('200000/0')).toBe(true);
  });

  test.each(['', 'garbage', '1/', '/1', '1/2/3', '100000000/0', '0/100000000', '-1/0', '0x1/0', ' 1/0'])('fails when the text is %j', (text) => {
    expect(() => parseWalPosition(text)).toThrow(`not a pg_lsn: ${JSON.stringify(text)} (expected "X/Y", two hex numbers of 1 to 8 digits)`);
  });

  test.each(['0/0', '16/B374D848', 'FFFFFFFF/FFFFFFFF', '1/0'])('formats %s back to PostgreSQL text', (text) => {
    expect(formatWalPosition(parseWalPosition(text))).toBe(text);
  });

  test('fails to format a position outside 64 bits', () => {
    expect(() => formatWalPosition(1n << 64n)).toThrow('WAL position out of range: 18446744073709551616');
    expect(() => formatWalPosition(-1n)).toThrow('WAL position out of range: -1');
  });
});

describe('read-your-writes tokens', () => {
  test('encode and decode round-trip through cookie-safe text', () => {
    const token = { walPosition: parseWalPosition('16/B374D848') };
    const text = encodeReadYourWritesToken(token);
    expect(text).toBe('16/B374D848');
    expect(text).toMatch(/^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$/);
    expect(decodeReadYourWritesToken(text)).toEqual(token);
  });

  test.each([undefined, '', 'x', '1/2/3', '{"walPosition":1}'])('decodes %j to no token rather than an error', (text) => {
    expect(decodeReadYourWritesToken(text)).toBeUndefined();
  });

  test('the later of two positions wins', () => {
    expect(laterPosition(undefined, undefined)).toBeUndefined();
    expect(laterPosition(5n, undefined)).toBe(5n);
    expect(laterPosition(undefined, 7n)).toBe(7n);
    expect(laterPosition(parseWalPosition('0/FFFFFFFF'), parseWalPosition('1/0'))).toBe(1n << 32n);
  });
});

describe('ReadYourWritesTracker', () => {
  const clock = () => {
    let nowMs = 1_000;
    return { now: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
  };

  test('keeps the later position of a key and forgets it after the TTL', () => {
    const time = clock();
    const tracker = new ReadYourWritesTracker({ ttlMs: 100, maxKeys: 10, now: time.now });
    tracker.record('guest-1', 50n);
    tracker.record('guest-1', 40n);
    expect(tracker.get('guest-1')).toEqual({ walPosition: 50n });
    tracker.record('guest-1', 60n);
    expect(tracker.get('guest-1')).toEqual({ walPosition: 60n });
    time.advance(99);
    expect(tracker.get('guest-1')).toEqual({ walPosition: 60n });
    time.advance(1);
    expect(tracker.get('guest-1')).toBeUndefined();
    expect(tracker.size).toBe(0);
  });

  test('an expired position does not hold a newer, lower one up', () => {
    const time = clock();
    const tracker = new ReadYourWritesTracker({ ttlMs: 100, maxKeys: 10, now: time.now });
    tracker.record('k', 90n);
    time.advance(100);
    expect(tracker.record('k', 10n)).toEqual({ walPosition: 10n });
  });

  test('evicts the least recently written key beyond maxKeys', () => {
    const tracker = new ReadYourWritesTracker({ ttlMs: 60_000, maxKeys: 2 });
    tracker.record('a', 1n);
    tracker.record('b', 2n);
    tracker.record('a', 3n); // 'a' is now the most recent
    tracker.record('c', 4n);
    expect(tracker.size).toBe(2);
    expect(tracker.get('b')).toBeUndefined();
    expect(tracker.get('a')).toEqual({ walPosition: 3n });
    expect(tracker.get('c')).toEqual({ walPosition: 4n });
  });
});

describe('PrimaryPositionHistory (replica lag in WAL, not in replay timestamps)', () => {
  test('an idle primary: a caught-up replica has no lag however old the last write is', () => {
    const history = new PrimaryPositionHistory(3_000);
    for (let t = 0; t <= 60_000; t += 1_000) history.record(t, 500n);
    expect(history.assess(500n, 60_000)).toEqual({ lagMs: 0, reachedOldest: true });
  });

  test('a replica slightly behind a busy primary lags by the age of the first sample it misses', () => {
    const history = new PrimaryPositionHistory(3_000);
    history.record(0, 100n);
    history.record(1_000, 200n);
    history.record(2_000, 300n);
    expect(history.assess(250n, 2_010)).toEqual({ lagMs: 10, reachedOldest: true });
    expect(history.assess(150n, 2_010)).toEqual({ lagMs: 1_010, reachedOldest: true });
  });

  test('a replica behind every kept sample has not shown it is close', () => {
    const history = new PrimaryPositionHistory(3_000);
    history.record(0, 100n);
    expect(history.assess(99n, 5)).toEqual({ lagMs: 5, reachedOldest: false });
  });

  test('drops samples older than the retention, keeping the newest', () => {
    const history = new PrimaryPositionHistory(1_000);
    history.record(0, 100n);
    history.record(500, 200n);
    history.record(1_200, 300n);
    // The sample at 0 is gone: 150 no longer counts as having reached the oldest sample.
    expect(history.assess(150n, 1_200)).toEqual({ lagMs: 700, reachedOldest: false });
    expect(history.assess(200n, 1_300)).toEqual({ lagMs: 100, reachedOldest: true });
  });

  test('fails when nothing was sampled', () => {
    expect(() => new PrimaryPositionHistory(1_000).assess(1n, 0)).toThrow('no primary position sampled yet');
  });
});

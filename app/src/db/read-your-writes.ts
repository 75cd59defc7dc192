/**
 * Read-your-writes: after a write, the primary's WAL position is remembered for a caller-chosen key
 * (a client id, a restaurant id); a later read for that key may go to a replica only when the
 * replica has replayed at least that far.
 *
 * Two carriers of the same token:
 * - in this process, `ReadYourWritesTracker`: a bounded map with a TTL, keyed by the caller's key;
 * - across processes (the next request may land on another API pod), the encoded token in a cookie
 *   or header, via `encodeReadYourWritesToken` / `decodeReadYourWritesToken`.
 *
 * Why a TTL is safe: the replica health checker keeps a replica in rotation only while its lag is
 * under `maxReplicaLagMs`, so a write older than that lag plus one health interval has been
 * replayed on every replica that can serve reads. The TTL must exceed that sum (the manager checks)
 * and only bounds memory. Why evicting the oldest entry is safe for the same reason, as long as
 * `maxKeys` holds more than a TTL's worth of distinct writers.
 *
 * lru-cache is not a dependency; this map needs no recency on read, only insertion order (a
 * re-recorded key moves to the end) and a size bound, which a `Map` gives directly.
 */
import { formatWalPosition, parseWalPosition, type WalPosition } from './wal-position';

export interface ReadYourWritesToken {
  /** The primary's WAL position right after the write committed. */
  readonly walPosition: WalPosition;
}

/** Text form for a cookie or header: the `pg_lsn` text (`X/Y`, cookie-safe). */
export function encodeReadYourWritesToken(token: ReadYourWritesToken): string {
  return formatWalPosition(token.walPosition);
}

/**
 * Parses a token from a cookie or header. Returns undefined for a missing or malformed value:
 * clients control cookies, and a bad one should cost a fresh read, not an error. A client can
 * forge a high position and keep its own reads on the primary; sign the cookie if that matters.
 */
export function decodeReadYourWritesToken(text: string | undefined): ReadYourWritesToken | undefined {
  if (text === undefined) return undefined;
  try {
    return { walPosition: parseWalPosition(text.trim()) };
  } catch {
    return undefined;
  }
}

/** The later of two optional tokens (a read may carry both a key and a cookie). */
export function laterPosition(a: WalPosition | undefined, b: WalPosition | undefined): WalPosition | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

export interface ReadYourWritesTrackerOptions {
  /** Entries older than this are dropped. */
  readonly ttlMs: number;
  /** The oldest entry is evicted beyond this many keys. */
  readonly maxKeys: number;
  /**
   * Clock, for tests.
   * @default Date.now
   */
  readonly now?: () => number;
}

interface Entry {
  readonly walPosition: WalPosition;
  readonly expiresAtMs: number;
}

export class ReadYourWritesTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: ReadYourWritesTrackerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Remembers a write for `key`; keeps the later position when the key already has a live one. */
  record(key: string, walPosition: WalPosition): ReadYourWritesToken {
    const now = this.now();
    const previous = this.live(key, now);
    const kept = previous !== undefined && previous.walPosition > walPosition ? previous.walPosition : walPosition;
    // Delete first so the key moves to the end of the insertion order: the first key is the oldest.
    this.entries.delete(key);
    this.entries.set(key, { walPosition: kept, expiresAtMs: now + this.options.ttlMs });
    while (this.entries.size > this.options.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return { walPosition: kept };
  }

  get(key: string): ReadYourWritesToken | undefined {
    const entry = this.live(key, this.now());
    return entry && { walPosition: entry.walPosition };
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

/**
 * Caps on open websockets per token subject and per table, so one token (or one table's guests
 * re-scanning a QR code) cannot hold thousands of sockets and starve everyone else of the tier's
 * connections (issue 12). A socket over a cap is closed with 4002 right after the handshake
 * (`realtime-server.ts`), where a browser can see the code; the upgrade itself stays cheap.
 *
 * The counts are per process, and that is enough for what they guard:
 * - nginx balances `/ws` with ip_hash, so every socket from one address (one /24) lands on the same
 *   pod: a flood from one device or one restaurant's Wi-Fi meets one process's cap in full;
 * - a token used from many addresses spreads over the pods and can hold at most
 *   cap x ws replicas sockets in all (20 x 6 = 120 at the largest sizing): harmless next to a
 *   pod's ~1,500 planned connections, and every pod stays protected on its own;
 * - a cluster-wide count would need shared state (Redis counters that leak when a pod dies) on the
 *   upgrade path of every connection, for no gain in what a single pod can be made to hold.
 * Per-address limits at nginx (`limit_conn` on `/ws`) bound the sockets of many subjects from one
 * address, which these caps cannot see.
 */
import type { AuthClaims } from '../auth/claims';

export type ConnectionLimitKind = 'subject' | 'table';

export interface ConnectionLimitsOptions {
  /** Open sockets per token subject (`sub`). */
  readonly maxPerSubject: number;
  /** Open sockets per table (guests only), over every subject of that table. */
  readonly maxPerTable: number;
}

export type Admission =
  | { readonly admitted: true; /** Frees the slots; safe to call more than once. */ readonly release: () => void }
  | { readonly admitted: false; readonly limit: ConnectionLimitKind };

export class ConnectionLimits {
  private readonly perSubject = new Map<string, number>();
  private readonly perTable = new Map<string, number>();

  constructor(private readonly options: ConnectionLimitsOptions) {
    for (const [field, value] of Object.entries(options)) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${field} must be a positive integer, got ${value}`);
    }
  }

  /** Takes a slot for a new socket of `claims`, or names the cap that refuses it. Synchronous: no race between check and count. */
  admit(claims: Pick<AuthClaims, 'sub' | 'role' | 'restaurant_id' | 'table_id'>): Admission {
    const subject = claims.sub;
    const table = claims.role === 'guest' && claims.table_id !== undefined ? `${claims.restaurant_id}:${claims.table_id}` : undefined;
    if ((this.perSubject.get(subject) ?? 0) >= this.options.maxPerSubject) return { admitted: false, limit: 'subject' };
    if (table !== undefined && (this.perTable.get(table) ?? 0) >= this.options.maxPerTable) return { admitted: false, limit: 'table' };
    increment(this.perSubject, subject);
    if (table !== undefined) increment(this.perTable, table);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        decrement(this.perSubject, subject);
        if (table !== undefined) decrement(this.perTable, table);
      },
    };
  }

  /** Open sockets counted for a subject (tests, diagnostics). */
  subjectCount(subject: string): number {
    return this.perSubject.get(subject) ?? 0;
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const next = (counts.get(key) ?? 1) - 1;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}

/**
 * A token bucket per connection for what a client sends (protocol messages and protocol-level
 * pings): a burst of `burst` messages, refilled at `perSecond`. A well-behaved client sends a
 * `ping` every 20 s or so and a `resume` after reconnecting; a client that empties the bucket is
 * looping, and is closed with 1008 before its pongs and replays (XRANGE on Redis) cost anything.
 *
 * Hand-written on purpose: the check runs synchronously on every frame of one socket and keeps two
 * numbers. rate-limiter-flexible (used by the API, where limits must hold across pods in Redis)
 * answers with a promise per call and keeps keyed state with timers, which buys nothing here.
 */
export interface MessageRateLimitOptions {
  /** Messages a client may send at once. */
  readonly burst: number;
  /** Sustained messages per second. */
  readonly perSecond: number;
  /** @default Date.now */
  readonly nowMs?: () => number;
}

export class MessageRateLimit {
  private tokens: number;
  private updatedAtMs: number;
  private readonly now: () => number;

  constructor(private readonly options: MessageRateLimitOptions) {
    for (const field of ['burst', 'perSecond'] as const) {
      const value = options[field];
      if (!Number.isFinite(value) || value <= 0) throw new Error(`${field} must be a positive number, got ${value}`);
    }
    this.now = options.nowMs ?? Date.now;
    this.tokens = options.burst;
    this.updatedAtMs = this.now();
  }

  /** Takes one token; false when the bucket is empty (the message is over the limit). */
  take(): boolean {
    const now = this.now();
    const elapsedMs = Math.max(0, now - this.updatedAtMs);
    this.updatedAtMs = now;
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsedMs * this.options.perSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

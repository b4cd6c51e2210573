/**
 * Token buckets by key (a principal, a remote address): each holds up to `capacity` tokens and
 * refills continuously at `capacity` per `periodMs`. Memory stays bounded whatever the number of
 * keys an attacker makes up: past `maxKeys`, full buckets (which remember nothing a new bucket
 * would not) are forgotten first, then the oldest.
 */
export class TokenBuckets {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { capacity: number; periodMs: number; maxKeys?: number; now?: () => number }) {
    this.#capacity = options.capacity;
    this.#perMs = options.capacity / options.periodMs;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? (() => performance.now());
  }

  #refilled(bucket: { tokens: number; at: number }, now: number): number {
    return Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
  }

  /** Takes one token for `key`: 0 when taken, else how many seconds until one is there (at least 1). */
  take(key: string): number {
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    const tokens = bucket ? this.#refilled(bucket, now) : this.#capacity;
    if (tokens < 1) return this.#secondsUntilOne(tokens);
    if (bucket) {
      bucket.tokens = tokens - 1;
      bucket.at = now;
    } else {
      this.#buckets.set(key, { tokens: tokens - 1, at: now });
      if (this.#buckets.size > this.#maxKeys) this.#forget(now);
    }
    return 0;
  }

  /** Like `take`, without taking: 0 when `key` has a token now, else the seconds until it has one. */
  wait(key: string): number {
    const bucket = this.#buckets.get(key);
    const tokens = bucket ? this.#refilled(bucket, this.#now()) : this.#capacity;
    return tokens >= 1 ? 0 : this.#secondsUntilOne(tokens);
  }

  #secondsUntilOne(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / this.#perMs / 1_000));
  }

  /** Number of keys remembered (tests check it stays bounded). */
  get size(): number {
    return this.#buckets.size;
  }

  #forget(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (this.#refilled(bucket, now) >= this.#capacity) this.#buckets.delete(key);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#maxKeys) break;
      this.#buckets.delete(key);
    }
  }
}

/**
 * At most `limit` tasks at a time per key; the rest wait their turn in that key's own queue. One
 * principal's burst then holds `limit` database connections at most, and everyone else's
 * requests go past its queue instead of behind it.
 */
export class KeyedConcurrency {
  readonly #limit: number;
  readonly #running = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let entry = this.#running.get(key);
    if (!entry) this.#running.set(key, (entry = { active: 0, waiting: [] }));
    if (entry.active >= this.#limit) await new Promise<void>((resolve) => entry.waiting.push(resolve));
    else entry.active++;
    try {
      return await task();
    } finally {
      const next = entry.waiting.shift();
      if (next) next();
      else if (--entry.active === 0) this.#running.delete(key);
    }
  }
}

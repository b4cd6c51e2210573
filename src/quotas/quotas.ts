import { RateLimitedError } from '../errors.js';
import { KeyedConcurrency, TokenBuckets } from './token-buckets.js';

/** `requestAction` calls of one principal that run at once; the rest wait in its own queue. */
export const REQUESTS_IN_FLIGHT_PER_PRINCIPAL = 4;

/**
 * Per-principal quotas on the write path, on this instance. Services call them, so every
 * transport is held to the same limits.
 */
export interface Quotas {
  /**
   * Runs one `requestAction` of `principalId`: refused with RateLimitedError past the principal's
   * rate, and queued behind its own calls past REQUESTS_IN_FLIGHT_PER_PRINCIPAL at once, so a
   * burst from one agent never holds every database connection.
   */
  requestAction<T>(principalId: string, task: () => Promise<T>): Promise<T>;
}

/** Quotas with `requestsPerMinute` per principal (a bucket of that many, refilled over a minute; 0: none). */
export function createQuotas(options: { requestsPerMinute: number }): Quotas {
  const buckets = options.requestsPerMinute > 0 ? new TokenBuckets({ capacity: options.requestsPerMinute, periodMs: 60_000 }) : null;
  const inFlight = new KeyedConcurrency(REQUESTS_IN_FLIGHT_PER_PRINCIPAL);
  return {
    async requestAction(principalId, task) {
      const wait = buckets?.take(principalId) ?? 0;
      if (wait > 0) {
        throw new RateLimitedError(
          `Too many requests: at most ${options.requestsPerMinute} requestAction calls a minute per agent. Retry in ${wait} s.`,
          wait,
        );
      }
      return inFlight.run(principalId, task);
    },
  };
}

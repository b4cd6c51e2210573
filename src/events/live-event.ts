import type { ActionRequestRow, AuditEventRow } from '../db/schema.js';

/**
 * A committed event as the hub delivers it to this instance's listeners, with the work its
 * subscribers share. Every listener of one delivery gets the same LiveEvent, so what one
 * subscriber computes for it (the request it is about, the queue change it makes, a payload's
 * execution and JSON) is computed once and found here by the others. It lives as long as the
 * delivery: the next event has a LiveEvent, and so fresh data, of its own. Replays read events
 * per subscriber and have none (they share nothing).
 */
export class LiveEvent {
  readonly #shared = new Map<string, unknown>();

  /**
   * `request`: the request the event is about, read with the event's page (null: it has none or
   * it is gone), or undefined when the page was not asked to read it.
   */
  constructor(
    readonly row: AuditEventRow,
    readonly request?: ActionRequestRow | null,
  ) {}

  /**
   * The shared value named `key`: made by `make(context, this)` for the first subscriber that
   * asks, the same value (a promise while it is being made) for the others. Keys name what the
   * value is, so two kinds of work never collide: `request`, `queue-change`, `result <operation
   * key>`. (`make` takes a context rather than closing over it: this is called once per subscriber
   * and event, and a closure would be made each time.)
   */
  shared<T, C>(key: string, make: (context: C, live: LiveEvent) => T, context: C): T {
    if (this.#shared.has(key)) return this.#shared.get(key) as T;
    const value = make(context, this);
    this.#shared.set(key, value);
    return value;
  }
}

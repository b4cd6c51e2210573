import type { LiveEvent } from './live-event.js';

/** Where an attached stream hands its values, in order, instead of queueing them for a reader. */
export interface LiveSink<T> {
  /** `origin`: the live event the value was made for, carrying the work subscribers share (null for a replayed one). */
  next(value: T, origin: LiveEvent | null): void;
  /** The stream ended; nothing follows. */
  end(): void;
  /** The stream failed; nothing follows. */
  fail(error: unknown): void;
}

/** Whether a value pushed (or computed for a stream) is still to settle. */
export const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

/** A pushed value (or its promise) and the live event it was made for. */
interface Entry<T> {
  value: T | null | Promise<T | null>;
  origin: LiveEvent | null;
}

/**
 * One subscriber's stream of live values: a plain queue with one waiting reader, and nothing
 * else per value. A producer (a hub listener, a replay) pushes values, or promises of values for
 * work that is shared between subscribers and not finished yet; the reader gets them in push
 * order. A value that turns out to be `null` is skipped (a subscriber that may not see an event).
 *
 * Each value may name its origin: the `LiveEvent` it was made for, where work shared by every
 * subscriber of that event is kept (see `SharedSubscriptions`). Replayed values have none.
 *
 * A consumer may instead `attach` a sink: a value that is ready when it is pushed, with nothing
 * queued before it, then reaches the sink synchronously, inside the producer's call. A hub event
 * thus reaches a thousand attached subscribers in one loop, with no promise per subscriber;
 * promised values (and what is pushed after them) are queued and handed over in order as they
 * settle.
 *
 * It replaces a chain of generic async iterators (a Repeater, then filter/map stages) because a
 * live event reaches every subscriber: each layer's promises and closures were paid a thousand
 * times per event with a thousand subscribers.
 */
export class LiveStream<T extends object> implements AsyncIterableIterator<T> {
  #queue: Entry<T>[] = [];
  #sink: LiveSink<T> | null = null;
  #draining = false;
  #wake: (() => void) | null = null;
  #ending = false;
  #closed = false;
  #error: { error: unknown } | null = null;
  #roomWaiters: (() => void)[] = [];
  readonly #onClose: () => void;

  /** `onClose` runs once, when the stream ends for any reason: unregister listeners there. */
  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  /** Values pushed and not yet taken by the reader. */
  get size(): number {
    return this.#queue.length;
  }

  /** False once the stream ended or failed; pushes are then ignored. */
  get open(): boolean {
    return !this.#closed && !this.#ending && this.#error === null;
  }

  push(value: T | null | Promise<T | null>, origin: LiveEvent | null = null): void {
    if (!this.open) return;
    if (this.#sink && this.#queue.length === 0 && !isPromise(value)) {
      if (value !== null) this.#sink.next(value, origin);
      return;
    }
    this.#queue.push({ value, origin });
    if (this.#sink) void this.#drain();
    else this.#wakeReader();
  }

  /**
   * From now on values go to `sink` (see above), never to `next()`. What is queued already goes
   * first, and an end or failure that already happened is passed on.
   */
  attach(sink: LiveSink<T>): void {
    if (this.#sink) throw new Error('A LiveStream takes one sink.');
    this.#sink = sink;
    if (this.#error) {
      const { error } = this.#error;
      this.#error = null;
      sink.fail(error);
    } else void this.#drain();
  }

  /** The reader gets what was pushed, then the end. */
  end(): void {
    this.#ending = true;
    if (this.#sink) void this.#drain();
    else this.#wakeReader();
  }

  /** The reader gets `error` at its next read; what was queued is dropped. */
  fail(error: unknown): void {
    if (this.#closed || this.#error) return;
    this.#queue = [];
    this.#close();
    if (this.#sink) return this.#sink.fail(error);
    this.#error = { error };
    this.#wakeReader();
  }

  /** Resolves once the reader has taken everything queued (a replay waits here between pages). */
  whenDrained(): Promise<void> {
    if (this.#queue.length === 0 || !this.open) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  async next(): Promise<IteratorResult<T>> {
    const next = await this.nextWithOrigin();
    return next.done ? next : { value: next.value.value, done: false };
  }

  /** The next value with its origin (see above), as `next()` reads it. */
  async nextWithOrigin(): Promise<IteratorResult<{ value: T; origin: LiveEvent | null }>> {
    for (;;) {
      if (this.#error) {
        const { error } = this.#error;
        this.#error = null;
        this.#ending = true;
        throw error;
      }
      if (this.#closed) return { value: undefined, done: true };
      if (this.#queue.length > 0) {
        const { value: pushed, origin } = this.#queue.shift()!;
        let value: T | null;
        try {
          value = await pushed;
        } catch (error) {
          this.fail(error);
          continue;
        }
        if (this.#queue.length === 0) this.#releaseRoomWaiters();
        if (value === null || this.#closed) continue;
        return { value: { value, origin }, done: false };
      }
      if (this.#ending) {
        this.#close();
        continue;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<T>> {
    this.#queue = [];
    this.#close();
    this.#wakeReader();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Hands queued values to the sink in order, each once it has settled. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const { value: pushed, origin } = this.#queue[0]!;
        let value: T | null;
        try {
          value = await pushed;
        } catch (error) {
          return this.fail(error);
        }
        this.#queue.shift();
        if (value !== null && !this.#closed) this.#sink!.next(value, origin);
      }
      this.#releaseRoomWaiters();
      if (this.#ending && !this.#closed) {
        this.#close();
        this.#sink!.end();
      }
    } finally {
      this.#draining = false;
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#releaseRoomWaiters();
    this.#onClose();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #releaseRoomWaiters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

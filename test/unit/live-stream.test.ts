import { describe, expect, it } from 'vitest';
import { LiveStream, type LiveSink } from '../../src/events/live-stream.js';

// One subscriber's stream: order, skipped values, ends and failures, read or attached to a sink.

type Item = { n: number };
const item = (n: number): Item => ({ n });

/** A promise with its resolve, to settle values out of order. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A sink that records what it gets; `settled` resolves at the end or failure. */
function recordingSink() {
  const values: number[] = [];
  let outcome: 'open' | 'ended' | { failed: unknown } = 'open';
  let done!: () => void;
  const settled = new Promise<void>((resolve) => (done = resolve));
  const sink: LiveSink<Item> = {
    next: (value) => void values.push(value.n),
    end: () => ((outcome = 'ended'), done()),
    fail: (error) => ((outcome = { failed: error }), done()),
  };
  return { sink, values, settled, outcome: () => outcome };
}

describe('LiveStream read with next()', () => {
  it('gives values in push order, waits for promised ones, skips nulls, then ends', async () => {
    let closed = 0;
    const stream = new LiveStream<Item>(() => closed++);
    const slow = later<Item | null>();
    stream.push(item(1));
    stream.push(slow.promise);
    stream.push(null);
    stream.push(Promise.resolve(null));
    stream.push(item(3));
    stream.end();
    stream.push(item(4)); // after the end: ignored
    const first = await stream.next();
    expect(first).toEqual({ value: item(1), done: false });
    const second = stream.next();
    slow.resolve(item(2));
    expect(await second).toEqual({ value: item(2), done: false });
    expect(await stream.next()).toEqual({ value: item(3), done: false });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });

  it('wakes a waiting reader, and return() ends a pending read at once', async () => {
    let closed = 0;
    const stream = new LiveStream<Item>(() => closed++);
    const waiting = stream.next();
    stream.push(item(7));
    expect(await waiting).toEqual({ value: item(7), done: false });
    const pending = stream.next();
    await stream.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
    expect(stream.open).toBe(false);
  });

  it('fails the next read with the error, drops what was queued, and ends after it', async () => {
    let closed = 0;
    const stream = new LiveStream<Item>(() => closed++);
    stream.push(item(1));
    stream.fail(new Error('gone'));
    await expect(stream.next()).rejects.toThrow('gone');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });

  it('turns a rejected value into the stream’s failure', async () => {
    const stream = new LiveStream<Item>(() => undefined);
    stream.push(Promise.reject(new Error('read failed')));
    stream.push(item(2));
    await expect(stream.next()).rejects.toThrow('read failed');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('resolves whenDrained once the reader has taken everything', async () => {
    const stream = new LiveStream<Item>(() => undefined);
    await stream.whenDrained(); // nothing queued
    stream.push(item(1));
    stream.push(item(2));
    let drained = false;
    const waiting = stream.whenDrained().then(() => (drained = true));
    await stream.next();
    expect(drained).toBe(false);
    await stream.next();
    await waiting;
    expect(drained).toBe(true);
  });
});

describe('LiveStream attached to a sink', () => {
  it('hands ready values over inside push(), with nothing per value left to await', () => {
    const stream = new LiveStream<Item>(() => undefined);
    const { sink, values } = recordingSink();
    stream.attach(sink);
    stream.push(item(1));
    stream.push(null);
    stream.push(item(2));
    expect(values).toEqual([1, 2]);
  });

  it('keeps order when a promised value is followed by ready ones', async () => {
    const stream = new LiveStream<Item>(() => undefined);
    const { sink, values, settled, outcome } = recordingSink();
    stream.attach(sink);
    const slow = later<Item | null>();
    stream.push(item(1));
    stream.push(slow.promise);
    stream.push(item(3)); // must wait for 2
    stream.push(Promise.resolve(null));
    stream.push(item(4));
    expect(values).toEqual([1]);
    slow.resolve(item(2));
    stream.end();
    await settled;
    expect(values).toEqual([1, 2, 3, 4]);
    expect(outcome()).toBe('ended');
    stream.push(item(5)); // after the end: ignored
    expect(values).toEqual([1, 2, 3, 4]);
  });

  it('passes on what was queued before it was attached, and an end that came first', async () => {
    let closed = 0;
    const stream = new LiveStream<Item>(() => closed++);
    stream.push(item(1));
    stream.push(Promise.resolve(item(2)));
    stream.end();
    const { sink, values, settled, outcome } = recordingSink();
    stream.attach(sink);
    await settled;
    expect(values).toEqual([1, 2]);
    expect(outcome()).toBe('ended');
    expect(closed).toBe(1);
  });

  it('fails the sink when the stream fails or a promised value rejects', async () => {
    const failing = new LiveStream<Item>(() => undefined);
    const first = recordingSink();
    failing.attach(first.sink);
    failing.fail(new Error('too slow'));
    expect(first.outcome()).toEqual({ failed: new Error('too slow') });

    const rejecting = new LiveStream<Item>(() => undefined);
    const second = recordingSink();
    rejecting.attach(second.sink);
    rejecting.push(Promise.reject(new Error('read failed')));
    rejecting.push(item(2));
    await second.settled;
    expect(second.outcome()).toEqual({ failed: new Error('read failed') });
    expect(second.values).toEqual([]);
  });

  it('passes on a failure that came before it was attached', () => {
    const stream = new LiveStream<Item>(() => undefined);
    stream.fail(new Error('early'));
    const { sink, outcome } = recordingSink();
    stream.attach(sink);
    expect(outcome()).toEqual({ failed: new Error('early') });
  });
});

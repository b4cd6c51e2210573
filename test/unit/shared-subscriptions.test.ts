import { GraphQLError, GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionArgs } from 'graphql';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/errors.js';
import type { AuditEventRow } from '../../src/db/schema.js';
import { LiveEvent } from '../../src/events/live-event.js';
import { LiveStream } from '../../src/events/live-stream.js';
import { SharedStream, SharedSubscriptions } from '../../src/server/shared-subscriptions.js';

// The sharing plugin on a small schema: one execution per payload and key, masked once, the same
// JSON text for every subscriber, in order.

type Tick = { n: number };
const streams: LiveStream<Tick>[] = [];
const Tick = new GraphQLObjectType<Tick>({
  name: 'Tick',
  fields: {
    n: { type: GraphQLInt },
    later: { type: GraphQLInt, resolve: async (tick) => tick.n * 10 },
    boom: {
      type: GraphQLString,
      resolve: () => {
        throw new Error('connection string postgres://admin:hunter2@db');
      },
    },
  },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      tick: {
        type: Tick,
        subscribe: () => {
          const stream = new LiveStream<Tick>(() => undefined);
          streams.push(stream);
          return stream;
        },
        resolve: (payload: Tick) => payload,
      },
    },
  }),
});

const masked: unknown[] = [];
const mask = (error: unknown) => {
  masked.push(error);
  return new GraphQLError('Unexpected error.');
};

/** The plugin's subscribe function, as Yoga would install it. */
function sharedSubscribe(subscriptions: SharedSubscriptions): (args: ExecutionArgs) => Promise<SharedStream> {
  let subscribe!: (args: ExecutionArgs) => Promise<SharedStream>;
  const plugin = subscriptions.plugin(mask);
  (plugin.onSubscribe as (payload: { setSubscribeFn: (fn: typeof subscribe) => void }) => void)({
    setSubscribeFn: (fn) => (subscribe = fn),
  });
  return subscribe;
}

/** A live event as the hub would deliver it (the row's fields do not matter here). */
const liveEvent = (id: number) => new LiveEvent({ id } as AuditEventRow);

const args = (query: string): ExecutionArgs => ({ schema, document: parse(query), contextValue: { viewer: null } });

describe('shared subscriptions', () => {
  it('executes a live payload once per key, masks its errors once, and gives every subscriber the same text', async () => {
    const stats = new SharedSubscriptions();
    const subscribe = sharedSubscribe(stats);
    streams.length = 0;
    const query = 'subscription { tick { n boom } }';
    const texts: string[][] = [[], [], []];
    const subscribers = await Promise.all([subscribe(args(query)), subscribe(args(query)), subscribe(args('subscription { tick { n } }'))]);
    subscribers.forEach((stream, i) =>
      stream.attach({ next: (json) => void texts[i]!.push(json.text), end: () => undefined, fail: () => undefined }),
    );
    const payload = { n: 1 };
    const live = liveEvent(1);
    for (const stream of streams) stream.push(payload, live);
    expect(stats.executions).toBe(2);
    expect(masked).toHaveLength(1);
    expect(texts[0]).toEqual(texts[1]);
    const [text] = texts[0]!;
    expect(JSON.parse(text!)).toEqual({ data: { tick: { n: 1, boom: null } }, errors: [{ message: 'Unexpected error.' }] });
    expect(text).not.toContain('hunter2');
    expect(texts[2]).toEqual([JSON.stringify({ data: { tick: { n: 1 } } })]);
  });

  it('executes each live event afresh, and a replayed payload for its own subscriber', async () => {
    const stats = new SharedSubscriptions();
    const subscribe = sharedSubscribe(stats);
    streams.length = 0;
    const texts: string[][] = [[], []];
    const subscribers = await Promise.all([subscribe(args('subscription { tick { n } }')), subscribe(args('subscription { tick { n } }'))]);
    subscribers.forEach((stream, i) =>
      stream.attach({ next: (json) => void texts[i]!.push(json.text), end: () => undefined, fail: () => undefined }),
    );
    // The same payload object in two events: the second is executed again, with what it holds then.
    const payload = { n: 1 };
    const first = liveEvent(1);
    for (const stream of streams) stream.push(payload, first);
    payload.n = 2;
    const second = liveEvent(2);
    for (const stream of streams) stream.push(payload, second);
    expect(stats.executions).toBe(2);
    // Without a live event (a replay) nothing is shared.
    for (const stream of streams) stream.push({ n: 3 });
    expect(stats.executions).toBe(4);
    for (const subscriberTexts of texts) expect(subscriberTexts.map((text) => JSON.parse(text).data.tick.n)).toEqual([1, 2, 3]);
  });

  it('keeps order when a result needs an asynchronous resolver', async () => {
    const subscribe = sharedSubscribe(new SharedSubscriptions());
    streams.length = 0;
    const stream = await subscribe(args('subscription { tick { n later } }'));
    const texts: string[] = [];
    let ended!: () => void;
    const end = new Promise<void>((resolve) => (ended = resolve));
    stream.attach({ next: (json) => void texts.push(json.text), end: () => ended(), fail: () => undefined });
    for (const n of [1, 2, 3]) streams[0]!.push({ n });
    streams[0]!.end();
    await end;
    expect(texts.map((text) => JSON.parse(text).data.tick.later)).toEqual([10, 20, 30]);
  });

  it('passes an expected stream failure on with its code, and masks an unexpected one', async () => {
    const subscribe = sharedSubscribe(new SharedSubscriptions());
    streams.length = 0;
    const failures: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const stream = await subscribe(args('subscription { tick { n } }'));
      stream.attach({ next: () => undefined, end: () => undefined, fail: (error) => void failures.push(error) });
    }
    streams[0]!.fail(new NotFoundError('ActionRequest', 'x'));
    streams[1]!.fail(new Error('socket hang up at 10.0.0.7'));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toBeInstanceOf(GraphQLError);
    expect((failures[0] as GraphQLError).extensions['code']).toBe('NOT_FOUND');
    expect((failures[1] as GraphQLError).message).toBe('Unexpected error.');
  });
});

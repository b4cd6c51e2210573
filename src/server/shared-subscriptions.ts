import {
  createSourceEventStream,
  execute,
  GraphQLError,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/roles.js';
import { DomainError } from '../errors.js';
import { createLoaders, type GraphQLContext } from '../graphql/context.js';
import type { LiveEvent } from '../events/live-event.js';
import { isPromise, LiveStream, type LiveSink } from '../events/live-stream.js';

/**
 * Subscriptions that share their work. Every subscriber has its own source stream (its own
 * replay, its own eligibility), but a live event's payload reaches each stream with the event's
 * `LiveEvent`, so the selection set is executed once per live event, operation text, variables
 * used inside the selection and permission scope, and the result is kept on the LiveEvent for
 * all subscribers with that key (and dropped with it: the next event is executed afresh).
 *
 * The permission scope is the viewer's kind, roles and groups (and an agent's id), as they are when
 * each payload arrives: payload fields may depend on nothing finer. A document selecting a field
 * that depends on the viewer's own id (`tokens`, `delegations`) adds that id to the key.
 */
export interface FanoutStats {
  /** Selection-set executions of subscription payloads, shared ones counted once. */
  executions: number;
}

/** A completed result as JSON, made once for every subscriber that shares it. */
export interface SharedJson {
  /** The text of a graphql-ws `next` message's payload. */
  readonly text: string;
  /** The same text in UTF-8, also encoded once (for transports that frame messages themselves). */
  bytes(): Buffer;
}

/**
 * One payload's execution for one key, masked, and its JSON text once a WebSocket needs it. An
 * execution that completes synchronously (every resolver of the selection is) is ready at once.
 */
class SharedResult {
  #result: ExecutionResult | null = null;
  #json: SharedJson | null = null;
  readonly #settled: Promise<ExecutionResult> | null = null;

  constructor(outcome: ExecutionResult | Promise<ExecutionResult>, mask: MaskError) {
    const masked = (result: ExecutionResult) => (this.#result = result.errors ? { ...result, errors: result.errors.map(mask) } : result);
    if (isPromise(outcome)) this.#settled = outcome.then(masked);
    else masked(outcome);
  }

  result(): Promise<ExecutionResult> {
    return this.#settled ?? Promise.resolve(this.#result!);
  }

  /** The JSON, if the execution has completed. */
  jsonNow(): SharedJson | null {
    if (!this.#result) return null;
    if (this.#json) return this.#json;
    const text = resultJson(this.#result);
    let bytes: Buffer | undefined;
    return (this.#json = { text, bytes: () => (bytes ??= Buffer.from(text)) });
  }

  async json(): Promise<SharedJson> {
    await this.#settled;
    return this.jsonNow()!;
  }
}

/** A payload's result for one subscription; `origin` is the live event the payload came from, if any. */
type ResultOf = (payload: unknown, origin: LiveEvent | null) => SharedResult;

/** Turns an error into what a client may see (Yoga's masking: logged and masked when unexpected). */
export type MaskError = (error: unknown) => GraphQLError;

/** The permission scope of a viewer, as part of a shared result's key (see the top of this file). */
export function scopeOf(viewer: Principal | null | undefined): string {
  if (!viewer) return 'anonymous';
  const roles = [...viewer.roles].sort().join(',');
  const groups = [...viewer.groups].sort().join(',');
  return `${viewer.kind}|${roles}|${groups}|${viewer.kind === 'AGENT' ? viewer.id : ''}`;
}

/** Fields whose value depends on who exactly the viewer is, not only on its scope. */
const IDENTITY_FIELDS: ReadonlySet<string> = new Set(['tokens', 'delegations']);

/** Whether a document selects an identity-dependent field anywhere: its results are then shared by no two principals. */
function selectsIdentity(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field: (node) => {
      if (IDENTITY_FIELDS.has(node.name.value)) found = true;
    },
  });
  return found;
}

/** The values of the variables used below the root fields: arguments of the root field itself (a cursor, a filter) only shape the source stream. */
function selectionVariables(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): string {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  const used = new Set<string>();
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind === Kind.FIELD && selection.selectionSet)
      visit(selection.selectionSet, { Variable: (node) => void used.add(node.name.value) });
    else if (selection.kind !== Kind.FIELD) visit(selection, { Variable: (node) => void used.add(node.name.value) });
  }
  return JSON.stringify([...used].sort().map((name) => [name, variables?.[name] ?? null]));
}

/** The text of a `next` message's payload, as graphql-ws would write it. */
function resultJson(result: ExecutionResult): string {
  const { errors, ...rest } = result;
  return JSON.stringify(errors ? { ...rest, errors: errors.map((error) => error.toJSON()) } : rest);
}

/**
 * One subscriber's results: its source stream (every subscription's is a `LiveStream`) with each
 * payload's shared result. It is an async iterator of execution results (what Yoga and graphql-ws
 * expect), and it hands the same results on as JSON (`attach`), serialised once per payload and
 * key, to a transport that writes them itself (see `direct-delivery.ts`).
 */
export class SharedStream implements AsyncIterableIterator<ExecutionResult> {
  readonly #source: LiveStream<object>;
  readonly #resultOf: ResultOf;
  readonly #mask: MaskError;

  constructor(source: LiveStream<object>, resultOf: ResultOf, mask: MaskError) {
    this.#source = source;
    this.#resultOf = resultOf;
    this.#mask = mask;
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const next = await this.#pull();
    return next.done ? next : { value: await this.#resultOf(next.value.value, next.value.origin).result(), done: false };
  }

  /**
   * Hands every result's JSON to `sink`, in order, instead of being read (see `LiveStream.attach`):
   * a result that is ready reaches the sink in the same call that delivered its event. Errors
   * reach `sink.fail` fit for the client.
   */
  attach(sink: LiveSink<SharedJson>): void {
    const fail = (error: unknown) => sink.fail(this.#clientError(error));
    // Results that are not ready yet are waited for in order; later ones queue behind them.
    let pending: Promise<void> | null = null;
    const after = (work: () => Promise<void> | void) => {
      const job: Promise<void> = (pending ?? Promise.resolve()).then(work).then(() => {
        if (pending === job) pending = null;
      });
      pending = job;
      job.catch(fail);
    };
    this.#source.attach({
      next: (payload, origin) => {
        const shared = this.#resultOf(payload, origin);
        const json = pending ? null : shared.jsonNow();
        if (json !== null) return sink.next(json, origin);
        after(async () => sink.next(await shared.json(), origin));
      },
      end: () => (pending ? after(() => sink.end()) : sink.end()),
      fail,
    });
  }

  #clientError(error: unknown): unknown {
    if (error instanceof GraphQLError && error.originalError instanceof DomainError) return error;
    if (error instanceof DomainError) return new GraphQLError(error.message, { originalError: error, extensions: error.extensions });
    return this.#mask(error);
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    // At once, even while a `next()` waits: a departing subscriber's listener goes now.
    await this.#source.return();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next payload and the live event it came from. */
  async #pull(): Promise<IteratorResult<{ value: unknown; origin: LiveEvent | null }>> {
    try {
      return await this.#source.nextWithOrigin();
    } catch (error) {
      // An expected end (SLOW_CONSUMER, NOT_FOUND) keeps its message and code, unlogged.
      if (error instanceof DomainError) throw new GraphQLError(error.message, { originalError: error, extensions: error.extensions });
      throw error;
    }
  }
}

/**
 * Each event's payload is executed with loaders of its own: a subscription lives long, and loaders
 * kept for its life would answer later events with what they read for earlier ones (a request's
 * reviews as they were when it was ADDED, not as they are when it is UPDATED).
 */
function freshLoaders(contextValue: unknown): unknown {
  const context = contextValue as Partial<GraphQLContext> | null | undefined;
  return context?.deps && context.loaders ? { ...context, loaders: createLoaders(context.deps) } : contextValue;
}

/**
 * A subscription's sharing key, as it is now (the name of its result on a `LiveEvent`): its
 * viewer's permission scope, then what of the operation shapes its results. It is made again
 * only when the viewer's roles or groups change (a session's live principal is updated in place,
 * with new arrays, so the key follows a promotion or a demotion from the next event on): every
 * event looks it up once per subscriber, and a string made once is hashed once.
 */
function subscriptionKey(args: ExecutionArgs): () => string {
  const viewer = (args.contextValue as { viewer?: Principal | null } | undefined)?.viewer;
  const text = args.document.loc?.source.body ?? JSON.stringify(args.document);
  const identity = viewer && selectsIdentity(args.document) ? viewer.id : '';
  const rest = `${identity}\u0000${args.operationName ?? ''}\u0000${selectionVariables(args.document, args.operationName, args.variableValues)}\u0000${text}`;
  if (!viewer) {
    const anonymous = `result ${scopeOf(viewer)}\u0000${rest}`;
    return () => anonymous;
  }
  let roles: unknown = null;
  let groups: unknown = null;
  let key = '';
  return () => {
    if (viewer.roles !== roles || viewer.groups !== groups) {
      [roles, groups] = [viewer.roles, viewer.groups];
      key = `result ${scopeOf(viewer)}\u0000${rest}`;
    }
    return key;
  };
}

/**
 * Shared execution of this app's subscriptions: the Yoga plugin that replaces graphql-js
 * `subscribe` with the sharing one, the count of executions, and each operation's stream for the
 * WebSocket transport to write directly (see `direct-delivery.ts`). One per app.
 */
export class SharedSubscriptions implements FanoutStats {
  executions = 0;
  // The operation context of each shared subscription, for the WebSocket transport to find it.
  readonly #streams = new WeakMap<object, SharedStream>();

  /** The shared stream a subscription's operation context subscribed to, if it is one. */
  streamOf(contextValue: unknown): SharedStream | undefined {
    return typeof contextValue === 'object' && contextValue !== null ? this.#streams.get(contextValue) : undefined;
  }

  /**
   * The Yoga plugin. `mask` is applied to the errors of every shared result once, so transports
   * that write results themselves send them masked.
   */
  plugin(mask: MaskError): Plugin<{ viewer?: Principal | null }> {
    return {
      onSubscribe: ({ setSubscribeFn }) => {
        setSubscribeFn(async (args: ExecutionArgs) => {
          const source = await createSourceEventStream(args);
          // A result: the subscription failed to start (its errors, as graphql-js gives them).
          if (!(Symbol.asyncIterator in source)) return source;
          if (!(source instanceof LiveStream)) throw new Error('A subscription must stream a LiveStream (see events/live-stream.ts).');
          const stream = new SharedStream(source, this.#resultsFor(args, mask), mask);
          if (typeof args.contextValue === 'object' && args.contextValue !== null) this.#streams.set(args.contextValue, stream);
          return stream;
        });
      },
    };
  }

  /**
   * How one subscription gets each payload's result: from its live event, where the first
   * subscriber with the same key executed it, or executed for it alone (a replayed payload).
   */
  #resultsFor(args: ExecutionArgs, mask: MaskError): ResultOf {
    const run = (payload: unknown): SharedResult => {
      this.executions++;
      return new SharedResult(execute({ ...args, rootValue: payload, contextValue: freshLoaders(args.contextValue) }), mask);
    };
    const runShared = (payload: unknown) => ({ payload, result: run(payload) });
    const key = subscriptionKey(args);
    return (payload, origin) => {
      if (!origin || typeof payload !== 'object' || payload === null) return run(payload);
      const shared = origin.shared(key(), runShared, payload);
      // Subscribers with one key get one payload object per event; another one is not shared.
      return shared.payload === payload ? shared.result : run(payload);
    };
  }
}

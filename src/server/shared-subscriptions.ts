import { createSourceEventStream, execute, GraphQLError, Kind, visit, type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/roles.js';
import { DomainError } from '../errors.js';

/**
 * Subscriptions that share their work. Every subscriber has its own source stream (its own
 * replay, its own eligibility), but a live event reaches each stream as the same payload object,
 * so the selection set is executed once per payload, operation text, variables used inside the
 * selection and permission scope, and the result is shared by all subscribers with that key.
 *
 * The permission scope is the viewer's kind, roles and groups (and an agent's id): payload fields
 * may depend on nothing finer. A field that depended on a human's id would have to join the key.
 */
export interface FanoutStats {
  /** Selection-set executions of subscription payloads, shared ones counted once. */
  executions: number;
}

type Results = Map<string, Promise<ExecutionResult>>;

export function scopeOf(viewer: Principal | null | undefined): string {
  if (!viewer) return 'anonymous';
  const roles = [...viewer.roles].sort().join(',');
  const groups = [...viewer.groups].sort().join(',');
  return `${viewer.kind}|${roles}|${groups}|${viewer.kind === 'AGENT' ? viewer.id : ''}`;
}

/** The values of the variables used below the root fields: arguments of the root field itself (a cursor, a filter) only shape the source stream. */
function selectionVariables(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): string {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  const used = new Set<string>();
  for (const selection of operation?.selectionSet.selections ?? []) {
    if (selection.kind === Kind.FIELD && selection.selectionSet) visit(selection.selectionSet, { Variable: (node) => void used.add(node.name.value) });
    else if (selection.kind !== Kind.FIELD) visit(selection, { Variable: (node) => void used.add(node.name.value) });
  }
  return JSON.stringify([...used].sort().map((name) => [name, variables?.[name] ?? null]));
}

/**
 * `source` with `map` applied to each value. Not an async generator: `return()` must reach the
 * source at once even while a `next()` waits on it, so a departing subscriber's listener goes now.
 */
function mapStream<T, U>(source: AsyncIterable<T>, map: (value: T) => Promise<U>): AsyncIterableIterator<U> {
  const iterator = source[Symbol.asyncIterator]();
  const close = async () => {
    await iterator.return?.();
  };
  return {
    async next() {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        // An expected end (SLOW_CONSUMER, NOT_FOUND) keeps its message and code, unlogged.
        if (error instanceof DomainError) throw new GraphQLError(error.message, { originalError: error, extensions: error.extensions });
        throw error;
      }
      return next.done ? { value: undefined, done: true } : { value: await map(next.value), done: false };
    },
    async return() {
      await close();
      return { value: undefined, done: true };
    },
    async throw(error: unknown) {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

/** The Yoga plugin: replaces graphql-js `subscribe` with the sharing one. */
export function useSharedSubscriptions(stats: FanoutStats): Plugin<{ viewer?: Principal | null }> {
  const results = new WeakMap<object, Results>();
  const executeShared = (args: ExecutionArgs, key: string, payload: unknown): Promise<ExecutionResult> => {
    const run = () => {
      stats.executions++;
      return Promise.resolve(execute({ ...args, rootValue: payload }));
    };
    if (typeof payload !== 'object' || payload === null) return run();
    let byKey = results.get(payload);
    if (!byKey) results.set(payload, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = run()));
    return result;
  };
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (!isAsyncIterable(source)) return source;
        const viewer = (args.contextValue as { viewer?: Principal | null } | undefined)?.viewer;
        const text = args.document.loc?.source.body ?? JSON.stringify(args.document);
        const key = `${scopeOf(viewer)}\u0000${args.operationName ?? ''}\u0000${selectionVariables(args.document, args.operationName, args.variableValues)}\u0000${text}`;
        return mapStream(source, (payload) => executeShared(args, key, payload));
      });
    },
  };
}

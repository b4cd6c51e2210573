import type { ObjectRef } from '@pothos/core';
import { builder } from './builder.js';
import type { ErrorShape, mutationErrors } from './errors.js';

/** What a mutation answers with one thing: the thing under `key` (null on error), and `errors`. */
export type EntityPayload<K extends string, T> = { [P in K]?: T } & { errors: ErrorShape[] };

/**
 * The payload type of a mutation on one thing (a request, a principal, a token): the thing as it
 * is afterwards, or the typed errors that explain why nothing changed. `type` is read lazily, so
 * type modules that import each other can declare payloads while still loading.
 */
export function entityPayload<K extends string, T extends object>(
  name: string,
  options: {
    description: string;
    key: K;
    type: () => ObjectRef<any, T>;
    fieldDescription: string;
    errors: ReturnType<typeof mutationErrors>;
  },
) {
  return builder.objectRef<EntityPayload<K, T>>(name).implement({
    description: options.description,
    fields: (t) => ({
      [options.key]: t.field({
        type: options.type(),
        nullable: true,
        description: options.fieldDescription,
        resolve: (payload) => ((payload as Record<string, T | undefined>)[options.key] ?? null) as never,
      }),
      errors: t.field({ ...options.errors.field, resolve: (payload) => payload.errors }),
    }),
  });
}

import type { ActionRequestRow } from '../../db/schema.js';
import { builder } from '../builder.js';
import type { ErrorShape, mutationErrors } from '../errors.js';
import { ActionRequestRef } from './action-request.js';

// Its own module, not action-request.ts: review.ts and outcome.ts call this while the type
// modules are still loading (they import each other), and a function defined in a module that is
// mid-evaluation cannot run yet. `ActionRequestRef` is only read inside the lazy field thunk.

/**
 * The payload of a mutation on one action request: the request as it is afterwards, or the
 * typed errors that explain why nothing changed.
 */
export function requestPayload(name: string, description: string, requestDescription: string, errors: ReturnType<typeof mutationErrors>) {
  return builder.objectRef<{ request?: ActionRequestRow; errors: ErrorShape[] }>(name).implement({
    description,
    fields: (t) => ({
      request: t.field({ type: ActionRequestRef, nullable: true, description: requestDescription, resolve: (p) => p.request ?? null }),
      errors: t.field({ ...errors.field, resolve: (p) => p.errors }),
    }),
  });
}

import type { mutationErrors } from '../errors.js';
import { entityPayload } from '../payloads.js';
import { ActionRequestRef } from './action-request.js';

// Its own module, not action-request.ts: review.ts and outcome.ts call this while the type
// modules are still loading (they import each other), and a function defined in a module that is
// mid-evaluation cannot run yet. `ActionRequestRef` is only read inside the lazy field thunk.

/**
 * The payload of a mutation on one action request: the request as it is afterwards, or the
 * typed errors that explain why nothing changed.
 */
export function requestPayload(name: string, description: string, requestDescription: string, errors: ReturnType<typeof mutationErrors>) {
  return entityPayload(name, { description, key: 'request', type: () => ActionRequestRef, fieldDescription: requestDescription, errors });
}

import type { Database } from '../db/client.js';
import { createEventHub, type EventHub, type EventHubOptions } from '../events/hub.js';
import type { SignalTransport } from '../events/signal.js';
import { FrameWriter } from './direct-delivery.js';
import { SharedSubscriptions } from './shared-subscriptions.js';

/**
 * Live delivery, one per app (built in `app.ts`): everything between a commit and a subscriber's
 * socket, as instances, with no state kept in modules. The path, in five steps:
 *
 * 1. A service commits and calls `hub.publish`: this instance's hub is woken at once, the others
 *    by the signal transport (LISTEN/NOTIFY on PostgreSQL).
 * 2. The hub (`events/hub.ts`) reads the settled log after its position in one statement
 *    (`events/log.ts`), with the requests the streams asked for, and hands each event to its
 *    listeners as one `LiveEvent`: the event and the work its subscribers share.
 * 3. Each subscription's stream (`audit/stream.ts`, `approvals/streams.ts`) judges the event for
 *    its viewer and pushes its payload, with the LiveEvent, into its `LiveStream`.
 * 4. `subscriptions` executes the payload's selection set once per LiveEvent and sharing key
 *    (scope, operation, variables), and makes its JSON once.
 * 5. `frames` frames that JSON with each subscription's id and writes it to its socket
 *    (`direct-delivery.ts`).
 */
export interface LiveDelivery {
  hub: EventHub;
  subscriptions: SharedSubscriptions;
  frames: FrameWriter;
}

/** This app's live delivery over `db`, woken by `transport`. */
export function createLiveDelivery(db: Database, transport: SignalTransport, options: EventHubOptions = {}): LiveDelivery {
  return { hub: createEventHub(db, transport, options), subscriptions: new SharedSubscriptions(), frames: new FrameWriter() };
}

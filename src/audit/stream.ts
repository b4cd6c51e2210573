import { Repeater } from '@repeaterjs/repeater';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { actionRequests, type AuditEventRow } from '../db/schema.js';
import type { EventHub } from '../events/hub.js';
import {
  filterNeedsRequest,
  listAuditEvents,
  listSealedAuditEvents,
  listUnsealedAuditEvents,
  matchesAuditFilter,
  type AuditEventFilter,
  type RequestFacts,
} from './query.js';

const REPLAY_PAGE_SIZE = 500;
// Ids already delivered are remembered so an event seen both in the replay and live is sent
// once; this bounds that memory for long-lived subscriptions.
const DELIVERED_IDS_REMEMBERED = 10_000;
const REQUESTS_REMEMBERED = 1_000;

/** Where a stream starts: after an event id (the live order), after a chain position, or now. */
export type AuditStreamStart = { afterId: number } | { afterSeq: number } | null;

export interface AuditStreamOptions {
  start: AuditStreamStart;
  filter?: AuditEventFilter | null | undefined;
}

/**
 * Audit events as an async stream: a replay of what came after `start` (if any), then live
 * events. The live listener is registered before the replay queries run, so nothing committed in
 * between falls into a gap; duplicates at the seam are dropped by id.
 *
 * After a chain position (`afterSeq`, the cursor of the `auditEvents` query), the replay reads
 * the sealed events after it, then the committed ones not sealed yet, then the sealed ones
 * again: an event sealed between the first two reads is caught by the third, since sealing only
 * ever appends to the chain.
 */
export function streamAuditEvents(db: Database, hub: EventHub, options: AuditStreamOptions): AsyncIterable<AuditEventRow> {
  const { filter, start } = options;
  const needsRequest = filterNeedsRequest(filter);
  const requests = new Map<string, RequestFacts | null>();
  const factsOf = async (event: AuditEventRow): Promise<RequestFacts | null> => {
    if (!event.requestId) return null;
    if (!requests.has(event.requestId)) {
      const [row] = await db.select({ action: actionRequests.action, resource: actionRequests.resource }).from(actionRequests).where(eq(actionRequests.id, event.requestId));
      requests.set(event.requestId, row ?? null);
      if (requests.size > REQUESTS_REMEMBERED) requests.delete(requests.keys().next().value!);
    }
    return requests.get(event.requestId)!;
  };

  return new Repeater<AuditEventRow>(async (push, stop) => {
    const delivered = new Set<number>();
    /** `matched`: the database already applied the filter (replays). */
    const deliver = async (event: AuditEventRow, matched = false) => {
      if (delivered.has(event.id)) return;
      if (!matched && !matchesAuditFilter(event, filter, needsRequest ? await factsOf(event) : null)) return;
      delivered.add(event.id);
      if (delivered.size > DELIVERED_IDS_REMEMBERED) delivered.delete(delivered.values().next().value!);
      await push(event);
    };
    const replay = async (read: () => Promise<AuditEventRow[]>, next: (last: AuditEventRow) => void) => {
      for (;;) {
        const page = await read();
        for (const event of page) await deliver(event, true);
        if (page.length > 0) next(page.at(-1)!);
        if (page.length < REPLAY_PAGE_SIZE) return;
      }
    };

    let buffered: AuditEventRow[] | null = start === null ? null : [];
    // Live deliveries are chained: a lookup for the filter must not let a later event overtake.
    let live = Promise.resolve();
    const stopListening = hub.listen((event) => {
      if (buffered) buffered.push(event);
      else live = live.then(() => deliver(event)).catch(stop); // e.g. the consumer fell too far behind
    });
    try {
      if (start && 'afterId' in start) {
        let afterId = start.afterId;
        await replay(
          () => listAuditEvents(db, filter, { afterId, limit: REPLAY_PAGE_SIZE }),
          (last) => (afterId = last.id),
        );
      } else if (start) {
        let afterSeq = start.afterSeq;
        let afterId = 0;
        const sealed = () =>
          replay(
            () => listSealedAuditEvents(db, filter, { afterSeq, limit: REPLAY_PAGE_SIZE, order: 'SEQ_ASC' }),
            (last) => (afterSeq = last.seq!),
          );
        await sealed();
        await replay(
          () => listUnsealedAuditEvents(db, filter, { afterId, limit: REPLAY_PAGE_SIZE }),
          (last) => (afterId = last.id),
        );
        await sealed();
      }
      if (buffered) {
        // Live events keep arriving while the buffer drains; keep draining until it is empty, then
        // switch to direct delivery in the same tick, so order is kept at the seam.
        while (buffered.length > 0) await deliver(buffered.shift()!);
        buffered = null;
      }
      await stop;
    } catch (error) {
      stop(error);
    } finally {
      stopListening();
    }
  });
}

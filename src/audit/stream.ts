import { Repeater } from '@repeaterjs/repeater';
import type { Database } from '../db/client.js';
import type { AuditEventRow } from '../db/schema.js';
import type { EventHub } from '../events/hub.js';
import { listAuditEvents, matchesAuditFilter, type AuditEventFilter } from './query.js';

const REPLAY_PAGE_SIZE = 500;
// Ids already delivered are remembered so an event seen both in the replay and live is sent
// once; this bounds that memory for long-lived subscriptions.
const DELIVERED_IDS_REMEMBERED = 10_000;

export interface AuditStreamOptions {
  /** Replay every committed event with an id above this one first; null starts live. */
  afterId: number | null;
  filter?: AuditEventFilter | null | undefined;
}

/**
 * Audit events as an async stream: the replay after `afterId` (if any), then live events.
 * The live listener is registered before the replay query runs, so nothing committed in
 * between falls into a gap; duplicates at the seam are dropped by id.
 */
export function streamAuditEvents(db: Database, hub: EventHub, options: AuditStreamOptions): AsyncIterable<AuditEventRow> {
  return new Repeater<AuditEventRow>(async (push, stop) => {
    const delivered = new Set<number>();
    const deliver = async (event: AuditEventRow) => {
      if (delivered.has(event.id) || !matchesAuditFilter(event, options.filter)) return;
      delivered.add(event.id);
      if (delivered.size > DELIVERED_IDS_REMEMBERED) delivered.delete(delivered.values().next().value!);
      await push(event);
    };

    let buffered: AuditEventRow[] | null = options.afterId === null ? null : [];
    const stopListening = hub.listen((event) => {
      if (buffered) buffered.push(event);
      else deliver(event).catch(stop); // e.g. the consumer fell too far behind
    });
    try {
      if (buffered) {
        let afterId = options.afterId;
        for (;;) {
          const page = await listAuditEvents(db, options.filter, { afterId, limit: REPLAY_PAGE_SIZE });
          for (const event of page) await deliver(event);
          if (page.length < REPLAY_PAGE_SIZE) break;
          afterId = page.at(-1)!.id;
        }
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

import { Repeater } from '@repeaterjs/repeater';
import { and, eq, gt, isNull, or, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { actionRequests, auditEvents, type AuditEventRow } from '../db/schema.js';
import type { EventHub } from '../events/hub.js';
import { NotFoundError, SlowConsumerError } from '../errors.js';
import { comparePositions, positionOf, positionOfEvent, readSettled, START_POSITION, type EventPosition } from '../events/log.js';
import { auditFilterConditions, filterNeedsRequest, matchesAuditFilter, replayStartAfterSeq, type AuditEventFilter, type RequestFacts } from './query.js';

const REPLAY_PAGE_SIZE = 500;
const REQUESTS_REMEMBERED = 1_000;
/**
 * Live events held for one subscription while its replay runs, or while its consumer is busy.
 * Past this during a replay, they are dropped and read again from the database; past it live,
 * the consumer is too slow and the stream ends with `SlowConsumerError`.
 */
export const STREAM_BUFFER_LIMIT = 1_000;


/**
 * Where a stream starts: after a live position (an event's cursor), after a chain position, after
 * an event named by id (cursors of earlier versions), or now.
 */
export type AuditStreamStart = { after: EventPosition } | { afterSeq: number } | { afterEventId: number } | null;

async function startPosition(db: Database, start: Exclude<AuditStreamStart, null>): Promise<EventPosition> {
  if ('after' in start) return start.after;
  if ('afterSeq' in start) return replayStartAfterSeq(db, start.afterSeq);
  if (start.afterEventId === 0) return START_POSITION;
  const position = await positionOfEvent(db, start.afterEventId);
  if (!position) throw new NotFoundError('AuditEvent', String(start.afterEventId));
  return position;
}

export interface AuditStreamOptions {
  start: AuditStreamStart;
  filter?: AuditEventFilter | null | undefined;
}

/**
 * Audit events as an async stream, in live order (see `events/log.ts`): a replay of what came
 * after `start` (if any), read from the database, then the events the hub delivers. The listener
 * is registered before the replay runs and the stream delivers only events after the last one it
 * delivered, so the seam has no gap and no duplicate.
 *
 * After a chain position (`afterSeq`, the cursor of the `auditEvents` query) the client has seen
 * the sealed events up to it: the replay starts before the first event it has not seen and skips
 * those it has.
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
  const seenSeq = start && 'afterSeq' in start ? start.afterSeq : null;
  const seenBefore = (event: AuditEventRow) => seenSeq !== null && event.seq !== null && event.seq <= seenSeq;

  return new Repeater<AuditEventRow>(async (push, stop) => {
    let last: EventPosition = hub.position();
    /** `matched`: the database already applied the filter (replays). */
    const deliver = async (event: AuditEventRow, matched = false) => {
      if (comparePositions(positionOf(event), last) <= 0) return;
      last = positionOf(event);
      if (seenBefore(event)) return;
      if (!matched && !matchesAuditFilter(event, filter, needsRequest ? await factsOf(event) : null)) return;
      await push(event);
    };

    // Live events wait here while the replay runs and while the consumer takes the previous one.
    let buffered: AuditEventRow[] = [];
    let overflowed = false;
    let replaying = start !== null;
    let pumping = false;
    const pump = async () => {
      if (pumping || replaying) return;
      pumping = true;
      try {
        while (buffered.length > 0) await deliver(buffered.shift()!);
      } catch (error) {
        stop(error);
      } finally {
        pumping = false;
      }
    };
    const stopListening = hub.listen((event) => {
      if (buffered.length >= STREAM_BUFFER_LIMIT) {
        if (!replaying) return stop(new SlowConsumerError(STREAM_BUFFER_LIMIT));
        overflowed = true; // the replay reads them again from the database
        buffered = [];
        return;
      }
      buffered.push(event);
      void pump();
    });
    try {
      if (start) {
        const skipSeen: SQL | undefined = seenSeq === null ? undefined : or(isNull(auditEvents.seq), gt(auditEvents.seq, seenSeq));
        const where = and(...auditFilterConditions(filter), skipSeen);
        last = await startPosition(db, start);
        do {
          overflowed = false;
          for (;;) {
            const page = await readSettled(db, last, REPLAY_PAGE_SIZE, where);
            for (const event of page.events) await deliver(event, true);
            if (page.events.length < REPLAY_PAGE_SIZE) break;
          }
        } while (overflowed);
        // Buffered events the replay already reached are dropped by position; the rest follow.
        replaying = false;
        void pump();
      }
      await stop;
    } catch (error) {
      stop(error);
    } finally {
      stopListening();
    }
  });
}

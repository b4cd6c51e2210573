import { and, eq, gt, isNull, or, type SQL } from 'drizzle-orm';
import { authorize, can, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Database } from '../db/client.js';
import { actionRequests, auditEvents, type AuditEventRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { NotAllowedError, NotFoundError, SlowConsumerError } from '../errors.js';
import type { EventHub } from '../events/hub.js';
import type { LiveEvent } from '../events/live-event.js';
import { LiveStream } from '../events/live-stream.js';
import { comparePositions, positionOfEvent, readSettled, START_POSITION, type EventPosition } from '../events/log.js';
import {
  assertAuditFilter,
  auditFilterConditions,
  filterNeedsRequest,
  auditFilterMatcher,
  replayStartAfterSeq,
  type AuditEventFilter,
  type RequestFacts,
} from './query.js';

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

export interface AuditStreamOptions<T extends object = AuditEventRow> {
  start: AuditStreamStart;
  filter?: AuditEventFilter | null | undefined;
  /**
   * What the subscriber receives for an event that passed the filter: null skips it. A promise
   * keeps its place in the stream. `live` is the event as the hub delivered it, where work shared
   * by every subscriber is kept (one read per event, not per subscriber); null for a replayed event.
   */
  map?: (event: AuditEventRow, live: LiveEvent | null) => T | null | Promise<T | null>;
  /** Live events of the filter's types come with the request they are about (`LiveEvent.request`). */
  requests?: boolean;
}

/** The audit log, live (see `streamAuditEvents`), for a viewer who may read it (AUDITOR, ADMIN). */
export function streamAuditLog(deps: Pick<Deps, 'db' | 'hub'>, viewer: Principal, options: AuditStreamOptions): LiveStream<AuditEventRow> {
  authorize(viewer, Permission.ReadAudit);
  assertAuditFilter(options.filter);
  // The viewer is its session's live principal: a demotion mid-stream ends the stream at the next
  // event, which it never sees.
  const stream: LiveStream<AuditEventRow> = streamAuditEvents(deps.db, deps.hub, {
    ...options,
    map: (event) => {
      if (can(viewer, Permission.ReadAudit)) return event;
      queueMicrotask(() =>
        stream.fail(new NotAllowedError('The audit log needs the AUDITOR or ADMIN role, which this principal no longer holds.')),
      );
      return null;
    },
  });
  return stream;
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
 *
 * The stream holds at most STREAM_BUFFER_LIMIT values its reader has not taken: past that, live,
 * it fails with `SlowConsumerError`.
 */
export function streamAuditEvents<T extends object = AuditEventRow>(
  db: Database,
  hub: EventHub,
  options: AuditStreamOptions<T>,
): LiveStream<T> {
  const { filter, start } = options;
  const map = options.map ?? ((event: AuditEventRow) => event as unknown as T);
  const needsRequest = filterNeedsRequest(filter);
  const matches = auditFilterMatcher(filter);
  const requests = new Map<string, RequestFacts | null>();
  const factsOf = async (event: AuditEventRow): Promise<RequestFacts | null> => {
    if (!event.requestId) return null;
    if (!requests.has(event.requestId)) {
      const [row] = await db
        .select({ action: actionRequests.action, resource: actionRequests.resource })
        .from(actionRequests)
        .where(eq(actionRequests.id, event.requestId));
      requests.set(event.requestId, row ?? null);
      if (requests.size > REQUESTS_REMEMBERED) requests.delete(requests.keys().next().value!);
    }
    return requests.get(event.requestId)!;
  };
  const seenSeq = start && 'afterSeq' in start ? start.afterSeq : null;
  const seenBefore = (event: AuditEventRow) => seenSeq !== null && event.seq !== null && event.seq <= seenSeq;

  let last: EventPosition = hub.position();
  // Live events wait here while the replay runs.
  let buffered: LiveEvent[] = [];
  let overflowed = false;
  let replaying = start !== null;
  const stream = new LiveStream<T>(() => stopListening());

  // Live events come from the hub already of the filter's types: a filter of types alone has nothing left to check.
  const typesOnly = !filter || Object.entries(filter).every(([name, value]) => name === 'types' || value == null);
  /** `live`: the hub's delivery (null in a replay); `matched`: the database already applied the filter (replays). */
  const deliver = (event: AuditEventRow, live: LiveEvent | null, matched = false) => {
    // The last event delivered is kept as the position (an event is one), with no copy per event.
    if (comparePositions(event, last) <= 0) return;
    last = event;
    if (seenBefore(event)) return;
    if (matched || !needsRequest) {
      if (matched || (live && typesOnly) || matches(event, null)) stream.push(map(event, live), live);
      return;
    }
    stream.push(
      factsOf(event).then((facts) => (matches(event, facts) ? map(event, live) : null)),
      live,
    );
  };
  const listening = (event: AuditEventRow, live: LiveEvent) => {
    if (replaying) {
      if (buffered.length >= STREAM_BUFFER_LIMIT) {
        overflowed = true; // the replay reads them again from the database
        buffered = [];
      } else buffered.push(live);
      return;
    }
    if (stream.size >= STREAM_BUFFER_LIMIT) return stream.fail(new SlowConsumerError(`${STREAM_BUFFER_LIMIT} events`));
    deliver(event, live);
  };
  // Called only for the filter's types, if it names some (the filter would refuse the others).
  const stopListening = hub.listen(listening, { types: filter?.types, requests: options.requests === true });

  if (start) {
    const replay = async () => {
      const skipSeen: SQL | undefined = seenSeq === null ? undefined : or(isNull(auditEvents.seq), gt(auditEvents.seq, seenSeq));
      const where = and(...auditFilterConditions(filter), skipSeen);
      last = await startPosition(db, start);
      do {
        overflowed = false;
        for (;;) {
          if (!stream.open) return;
          const page = await readSettled(db, last, REPLAY_PAGE_SIZE, where);
          for (const event of page.events) deliver(event, null, true);
          // One page at a time: a long replay does not pile up in memory ahead of its reader.
          await stream.whenDrained();
          if (page.events.length < REPLAY_PAGE_SIZE) break;
        }
      } while (overflowed);
      // Buffered events the replay already reached are dropped by position; the rest follow.
      replaying = false;
      const waiting = buffered;
      buffered = [];
      for (const live of waiting) deliver(live.row, live);
    };
    replay().catch((error: unknown) => stream.fail(error));
  }
  return stream;
}

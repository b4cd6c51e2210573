import { Repeater } from '@repeaterjs/repeater';
import type { AuditEventData } from '../audit/events.js';
import { streamAuditEvents, type AuditStreamStart } from '../audit/stream.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { ActionRequestRow, AuditEventRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { isPromise } from '../events/live-stream.js';
import { isUuid } from '../validation.js';
import { DECISION_EVENT_TYPES, type AuditEventType } from '../vocabulary.js';
import { canView, reviewDenial } from './eligibility.js';
import { getActionRequest, getActionRequestsByIds } from './queries.js';

export const ApprovalQueueEventKind = { ADDED: 'ADDED', UPDATED: 'UPDATED', REMOVED: 'REMOVED' } as const;
export type ApprovalQueueEventKind = (typeof ApprovalQueueEventKind)[keyof typeof ApprovalQueueEventKind];

export interface ApprovalQueueEvent {
  kind: ApprovalQueueEventKind;
  /** The audit event behind this queue change: its id is the stream position to resume from. */
  event: AuditEventRow;
  request: ActionRequestRow;
}

/** Events that change a pending request a reviewer is looking at without deciding it: a review short of quorum (or with changed params), a longer deadline, a reminder that the deadline is near. */
const UPDATE_EVENT_TYPES: ReadonlySet<AuditEventType> = new Set(['REVIEW_SUBMITTED', 'ACTION_EXTENDED', 'ACTION_EXPIRING']);

const QUEUE_EVENT_TYPES: AuditEventType[] = ['ACTION_ESCALATED', ...UPDATE_EVENT_TYPES, ...DECISION_EVENT_TYPES];

/** How an audit event changes a reviewer's queue, if it does. */
function queueKindOf(event: AuditEventRow): ApprovalQueueEventKind | null {
  if (event.type === 'ACTION_ESCALATED') return 'ADDED';
  if (UPDATE_EVENT_TYPES.has(event.type)) return 'UPDATED';
  return leavesPending(event) ? 'REMOVED' : null;
}

/** True when an audit event moves a request that was waiting for reviewers out of PENDING. */
function leavesPending(event: AuditEventRow): boolean {
  return DECISION_EVENT_TYPES.has(event.type) && event.data['decidedBy'] !== 'POLICY';
}

/**
 * Whether an ACTION_ESCALATED event puts the request in the viewer's queue: the viewer may review
 * it with the groups the event names and, for an escalation step, could not before the step. The
 * event's own groups are used, not the request's current ones, so a replay gives each reviewer
 * exactly one ADDED however many steps came later.
 */
function addsFor(viewer: Principal, request: ActionRequestRow, event: AuditEventRow): boolean {
  const data = event.data as unknown as AuditEventData['ACTION_ESCALATED'];
  if (reviewDenial(viewer, request, data.requiredGroups) !== null) return false;
  return !data.step || reviewDenial(viewer, request, data.step.previousRequiredGroups) !== null;
}

async function loadRequest(deps: Deps, id: string | null): Promise<ActionRequestRow | null> {
  if (!id) return null;
  const [row] = await getActionRequestsByIds(deps.db, [id]);
  return row ?? null;
}

// The hub hands every listener the same event object, so work keyed by it is done once per event
// however many subscribers there are: one read of the request (for a page of events at once, by
// the hub's preparer, before any subscriber sees them), one payload object (which the WebSocket
// layer then executes once per operation and scope). Replayed events are read per subscriber and
// share nothing. Entries go with their event.
// The request an event is about: read (by the preparer) or being read (by `requestOf`).
const requestOfEvent = new WeakMap<AuditEventRow, ActionRequestRow | null | Promise<ActionRequestRow | null>>();
const queueChange = new WeakMap<AuditEventRow, ApprovalQueueEvent | null | Promise<ApprovalQueueEvent | null>>();

/** Events whose request a queue or decision stream needs. */
const concernsStreams = (event: AuditEventRow) => event.requestId !== null && queueKindOf(event) !== null;

/**
 * The hub's preparer while streams are open: the requests of a page of new events, read by the
 * hub with the page (`requests`, by event id). One the page came without (a page read before this
 * preparer was registered) is read here, for the whole page in one query.
 */
async function readRequests(deps: Deps, events: readonly AuditEventRow[], requests: ReadonlyMap<number, ActionRequestRow>): Promise<void> {
  const wanted = events.filter(concernsStreams);
  const missing = wanted.filter((event) => !requests.has(event.id));
  const rows = await getActionRequestsByIds(deps.db, [...new Set(missing.map((event) => event.requestId!))]);
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const event of wanted) requestOfEvent.set(event, requests.get(event.id) ?? byId.get(event.requestId!) ?? null);
}

// The preparer is registered while at least one stream needs it, once per hub.
const preparing = new WeakMap<Deps['hub'], { streams: number; remove: () => void }>();
function needRequestsRead(deps: Deps): () => void {
  let entry = preparing.get(deps.hub);
  if (!entry) {
    const remove = deps.hub.prepare((events, requests) => readRequests(deps, events, requests), { requestsFor: QUEUE_EVENT_TYPES });
    preparing.set(deps.hub, (entry = { streams: 0, remove }));
  }
  entry.streams++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--entry.streams === 0 && preparing.get(deps.hub) === entry) {
      entry.remove();
      preparing.delete(deps.hub);
    }
  };
}

/** The request an event is about: already read by the hub's preparer, or read once per event object. */
function requestOf(deps: Deps, event: AuditEventRow): ActionRequestRow | null | Promise<ActionRequestRow | null> {
  if (requestOfEvent.has(event)) return requestOfEvent.get(event)!;
  const request = loadRequest(deps, event.requestId);
  requestOfEvent.set(event, request);
  return request;
}

/** The queue change an event makes, before anyone's eligibility is judged: one object per event. */
function queueChangeOf(deps: Deps, event: AuditEventRow): ApprovalQueueEvent | null | Promise<ApprovalQueueEvent | null> {
  if (queueChange.has(event)) return queueChange.get(event)!;
  const kind = queueKindOf(event);
  const changeFor = (request: ActionRequestRow | null): ApprovalQueueEvent | null => (request && kind ? { kind, event, request } : null);
  const request = requestOf(deps, event);
  const change = isPromise(request) ? request.then(changeFor) : changeFor(request);
  queueChange.set(event, change);
  return change;
}

/** `change` if it belongs in the viewer's queue. */
function queueChangeFor(viewer: Principal, change: ApprovalQueueEvent | null): ApprovalQueueEvent | null {
  if (!change) return null;
  if (change.kind === 'ADDED') return addsFor(viewer, change.request, change.event) ? change : null;
  // An update is news only while the request still waits (its decision follows as REMOVED).
  if (change.kind === 'UPDATED' && change.request.status !== 'PENDING') return null;
  return reviewDenial(viewer, change.request) === null ? change : null;
}

/**
 * The viewer's review queue as a stream of changes: ADDED when a request it may decide is
 * escalated (or an escalation step makes it eligible), UPDATED when such a request changes while
 * it waits (a review short of quorum, changed params, a longer deadline), REMOVED when it leaves
 * PENDING.
 * With `start`, changes after that stream position are replayed first.
 */
export function streamApprovalQueue(deps: Deps, viewer: Principal, start: AuditStreamStart): AsyncIterable<ApprovalQueueEvent> {
  authorize(viewer, Permission.ReviewAction);
  return streamAuditEvents(deps.db, deps.hub, {
    start,
    filter: { types: QUEUE_EVENT_TYPES },
    map: (event) => {
      if (queueKindOf(event) === null) return null;
      const change = queueChangeOf(deps, event);
      return isPromise(change) ? change.then((c) => queueChangeFor(viewer, c)) : queueChangeFor(viewer, change);
    },
    onClose: needRequestsRead(deps),
  });
}

/**
 * Requests leaving PENDING, as the agent waits for them. With `requestId`, that one request:
 * emitted at once if it is already decided, otherwise when it is, and then the stream ends.
 * Without it, every one of the viewer's own requests that a reviewer decides.
 */
export function streamActionDecided(
  deps: Deps,
  viewer: Principal,
  requestId: string | null,
  start: AuditStreamStart = null,
): AsyncIterable<ActionRequestRow> {
  if (!requestId && start) return streamOwnDecisions(deps, viewer, start);
  return new Repeater<ActionRequestRow>(async (push, stop) => {
    // With a requestId the stream carries exactly one decision. The decision can commit between
    // registering the listener and the first read, and then both see it: the first to get here
    // delivers, the other does nothing.
    let delivered = false;
    const deliverOnce = async (request: ActionRequestRow) => {
      if (delivered) return;
      delivered = true;
      await push(request);
      stop();
    };
    // Deliveries are chained so decisions arrive in commit-publish order even though each needs
    // a read; the listener is registered before the first read, so no decision slips between.
    let chain = Promise.resolve();
    const stopListening = deps.hub.listen((event) => {
      if (!leavesPending(event)) return;
      if (requestId ? event.requestId !== requestId : event.data['agentId'] !== viewer.id) return;
      chain = chain
        .then(async () => {
          const request = await requestOf(deps, event);
          if (!request || !canView(viewer, request)) return;
          if (requestId) await deliverOnce(request);
          else await push(request);
        })
        .catch(stop);
    });
    try {
      if (requestId) {
        const request = isUuid(requestId) ? await getActionRequest(deps.db, viewer, requestId) : null;
        if (!request) throw new NotFoundError('ActionRequest', requestId);
        if (request.status !== 'PENDING') await deliverOnce(request);
      }
      await stop;
    } catch (error) {
      stop(error);
    } finally {
      stopListening();
    }
  });
}

/** The viewer's own requests leaving PENDING after `start` (replayed), then live. */
function streamOwnDecisions(deps: Deps, viewer: Principal, start: AuditStreamStart): AsyncIterable<ActionRequestRow> {
  const visible = (request: ActionRequestRow | null) => (request && canView(viewer, request) ? request : null);
  return streamAuditEvents(deps.db, deps.hub, {
    start,
    filter: { types: [...DECISION_EVENT_TYPES], agentId: viewer.id },
    map: (event) => {
      if (!leavesPending(event)) return null;
      const request = requestOf(deps, event);
      return isPromise(request) ? request.then(visible) : visible(request);
    },
    onClose: needRequestsRead(deps),
  });
}

import type { AuditEventData } from '../audit/events.js';
import { streamAuditEvents, type AuditStreamStart } from '../audit/stream.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { ActionRequestRow, AuditEventRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import type { LiveEvent } from '../events/live-event.js';
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

/**
 * The request an event is about. For a live event it is shared by every subscriber: the hub read
 * it with the event (the streams ask it to), or the first subscriber reads it (an event read
 * before any stream asked). A replayed event is read for its own subscriber.
 */
function requestOf(deps: Deps, event: AuditEventRow, live: LiveEvent | null): ActionRequestRow | null | Promise<ActionRequestRow | null> {
  if (!live) return loadRequest(deps, event.requestId);
  if (live.request !== undefined) return live.request;
  return live.shared('request', readRequest, deps);
}

/** The queue change an event makes, before anyone's eligibility is judged: one object per live event. */
function queueChangeOf(
  deps: Deps,
  event: AuditEventRow,
  live: LiveEvent | null,
): ApprovalQueueEvent | null | Promise<ApprovalQueueEvent | null> {
  return live ? live.shared('queue-change', makeSharedQueueChange, deps) : makeQueueChange(deps, event, null);
}

function makeQueueChange(
  deps: Deps,
  event: AuditEventRow,
  live: LiveEvent | null,
): ApprovalQueueEvent | null | Promise<ApprovalQueueEvent | null> {
  const kind = queueKindOf(event);
  const changeFor = (request: ActionRequestRow | null): ApprovalQueueEvent | null => (request && kind ? { kind, event, request } : null);
  const request = requestOf(deps, event, live);
  return isPromise(request) ? request.then(changeFor) : changeFor(request);
}

// What a live event's first subscriber makes for the others (module functions: see `LiveEvent.shared`).
const readRequest = (deps: Deps, live: LiveEvent) => loadRequest(deps, live.row.requestId);
const makeSharedQueueChange = (deps: Deps, live: LiveEvent) => makeQueueChange(deps, live.row, live);

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
    requests: true,
    map: (event, live) => {
      if (queueKindOf(event) === null) return null;
      const change = queueChangeOf(deps, event, live);
      return isPromise(change) ? change.then((c) => queueChangeFor(viewer, c)) : queueChangeFor(viewer, change);
    },
  });
}

/**
 * Requests leaving PENDING, as the agent waits for them. With `requestId`, that one request:
 * emitted at once if it is already decided, otherwise when it is, and then the stream ends.
 * Without it, every one of the viewer's own requests that a reviewer decides (after `start`,
 * replayed, if it is given).
 */
export function streamActionDecided(
  deps: Deps,
  viewer: Principal,
  requestId: string | null,
  start: AuditStreamStart = null,
): AsyncIterable<ActionRequestRow> {
  return requestId ? streamOneDecision(deps, viewer, requestId) : streamOwnDecisions(deps, viewer, start);
}

/** The viewer's own requests leaving PENDING after `start` (replayed), then live. */
function streamOwnDecisions(deps: Deps, viewer: Principal, start: AuditStreamStart): AsyncIterable<ActionRequestRow> {
  const visible = (request: ActionRequestRow | null) => (request && canView(viewer, request) ? request : null);
  return streamAuditEvents(deps.db, deps.hub, {
    start,
    filter: { types: [...DECISION_EVENT_TYPES], agentId: viewer.id },
    requests: true,
    map: (event, live) => {
      if (!leavesPending(event)) return null;
      const request = requestOf(deps, event, live);
      return isPromise(request) ? request.then(visible) : visible(request);
    },
  });
}

/**
 * One request's decision, then the end. The listener is registered before the request is read,
 * so a decision cannot slip between; one that commits in that gap is seen by both, and the first
 * to get here delivers it.
 */
function streamOneDecision(deps: Deps, viewer: Principal, requestId: string): AsyncIterable<ActionRequestRow> {
  let delivered = false;
  const first = (request: ActionRequestRow | null): ActionRequestRow | null => {
    if (delivered || !request || !canView(viewer, request)) return null;
    delivered = true;
    // After the value is pushed (`map`'s result is pushed when it returns).
    queueMicrotask(() => stream.end());
    return request;
  };
  const stream = streamAuditEvents(deps.db, deps.hub, {
    start: null,
    filter: { types: [...DECISION_EVENT_TYPES], requestId },
    requests: true,
    map: (event, live) => {
      if (!leavesPending(event)) return null;
      const request = requestOf(deps, event, live);
      return isPromise(request) ? request.then(first) : first(request);
    },
  });
  void (async () => {
    const request = isUuid(requestId) ? await getActionRequest(deps.db, viewer, requestId) : null;
    if (!request) throw new NotFoundError('ActionRequest', requestId);
    if (request.status !== 'PENDING') stream.push(first(request));
  })().catch((error: unknown) => stream.fail(error));
  return stream;
}

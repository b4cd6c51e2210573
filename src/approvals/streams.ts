import { filter, map, pipe } from '@graphql-yoga/subscription';
import { Repeater } from '@repeaterjs/repeater';
import type { AuditEventData } from '../audit/events.js';
import { streamAuditEvents, type AuditStreamStart } from '../audit/stream.js';
import type { Principal } from '../auth/roles.js';
import type { ActionRequestRow, AuditEventRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { DECISION_EVENT_TYPES, type AuditEventType } from '../vocabulary.js';
import { canView, reviewDenial } from './eligibility.js';
import { isUuid } from '../validation.js';
import { getActionRequest, getActionRequestsByIds } from './queries.js';

export const ApprovalQueueEventKind = { ADDED: 'ADDED', REMOVED: 'REMOVED' } as const;
export type ApprovalQueueEventKind = (typeof ApprovalQueueEventKind)[keyof typeof ApprovalQueueEventKind];

export interface ApprovalQueueEvent {
  kind: ApprovalQueueEventKind;
  /** The audit event behind this queue change: its id is the stream position to resume from. */
  event: AuditEventRow;
  request: ActionRequestRow;
}

const QUEUE_EVENT_TYPES: AuditEventType[] = ['ACTION_ESCALATED', ...DECISION_EVENT_TYPES];

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
// however many subscribers there are: one read of the request, one payload object (which the
// WebSocket layer then executes once per operation and scope). Replayed events are read per
// subscriber and share nothing. Entries go with their event.
const requestAfter = new WeakMap<AuditEventRow, Promise<ActionRequestRow | null>>();
const queueChange = new WeakMap<AuditEventRow, Promise<ApprovalQueueEvent | null>>();

/** The request an event is about, read once per event object. */
function requestOf(deps: Deps, event: AuditEventRow): Promise<ActionRequestRow | null> {
  let request = requestAfter.get(event);
  if (!request) {
    request = loadRequest(deps, event.requestId);
    requestAfter.set(event, request);
  }
  return request;
}

/** The queue change an event makes, before anyone's eligibility is judged: one object per event. */
function queueChangeOf(deps: Deps, event: AuditEventRow): Promise<ApprovalQueueEvent | null> {
  let change = queueChange.get(event);
  if (!change) {
    change = requestOf(deps, event).then((request) => (request ? { kind: event.type === 'ACTION_ESCALATED' ? 'ADDED' : 'REMOVED', event, request } : null));
    queueChange.set(event, change);
  }
  return change;
}

/**
 * The viewer's review queue as a stream of changes: ADDED when a request it may decide is
 * escalated (or an escalation step makes it eligible), REMOVED when such a request leaves PENDING.
 * With `start`, changes after that stream position are replayed first.
 */
export function streamApprovalQueue(deps: Deps, viewer: Principal, start: AuditStreamStart): AsyncIterable<ApprovalQueueEvent> {
  const source = streamAuditEvents(deps.db, deps.hub, { start, filter: { types: QUEUE_EVENT_TYPES } });
  return pipe(
    source,
    filter((event: AuditEventRow) => event.type === 'ACTION_ESCALATED' || leavesPending(event)),
    map(async (event: AuditEventRow): Promise<ApprovalQueueEvent | null> => {
      const change = await queueChangeOf(deps, event);
      if (!change) return null;
      if (change.kind === 'ADDED') return addsFor(viewer, change.request, event) ? change : null;
      return reviewDenial(viewer, change.request) === null ? change : null;
    }),
    filter((change: ApprovalQueueEvent | null): boolean => change !== null),
  ) as AsyncIterable<ApprovalQueueEvent>;
}

/**
 * Requests leaving PENDING, as the agent waits for them. With `requestId`, that one request:
 * emitted at once if it is already decided, otherwise when it is, and then the stream ends.
 * Without it, every one of the viewer's own requests that a reviewer decides.
 */
export function streamActionDecided(deps: Deps, viewer: Principal, requestId: string | null, start: AuditStreamStart = null): AsyncIterable<ActionRequestRow> {
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
  const source = streamAuditEvents(deps.db, deps.hub, { start, filter: { types: [...DECISION_EVENT_TYPES], agentId: viewer.id } });
  return pipe(
    source,
    filter((event: AuditEventRow) => leavesPending(event)),
    map(async (event: AuditEventRow): Promise<ActionRequestRow | null> => {
      const request = await requestOf(deps, event);
      return request && canView(viewer, request) ? request : null;
    }),
    filter((request: ActionRequestRow | null): boolean => request !== null),
  ) as AsyncIterable<ActionRequestRow>;
}

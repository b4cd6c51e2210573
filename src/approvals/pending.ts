import { and, asc, eq, sql } from 'drizzle-orm';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import type { Principal } from '../auth/roles.js';
import type { Transaction } from '../db/client.js';
import { actionRequests, reviews, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, SeparationOfDutiesError } from '../errors.js';
import type { RequestParty, Verdict } from '../vocabulary.js';
import { approvalWindowEnd } from './request-decision.js';
import { tallyQuorum, type QuorumTally } from './requirements.js';

/**
 * What the mutations on a PENDING request share: lock it, check it can still be decided, tally
 * its quorum, settle it. Every caller runs these inside its own transaction, so the change and
 * its audit events commit together; the row lock serialises reviewers, admins and the sweeper.
 */

export interface LockedRequest {
  request: ActionRequestRow;
  /** The review deadline passed (database time), even if the sweeper has not ended it yet. */
  overdue: boolean;
}

/** Locks one request for the rest of the transaction; null when there is no such row. */
export async function lockRequest(tx: Transaction, id: string): Promise<LockedRequest | null> {
  const [locked] = await tx
    .select({ request: actionRequests, overdue: sql<boolean>`coalesce(${actionRequests.expiresAt} <= now(), false)` })
    .from(actionRequests)
    .where(eq(actionRequests.id, id))
    .for('update');
  return locked ?? null;
}

/** Throws a ConflictError unless the request is PENDING and its deadline has not passed. */
export function assertPending({ request, overdue }: LockedRequest, doing: string): void {
  if (request.status !== 'PENDING') {
    throw new ConflictError(`The request is already ${request.status}; it can no longer be ${doing}.`, request.status);
  }
  if (overdue) throw new ConflictError(`The request's review deadline passed at ${request.expiresAt!.toISOString()}.`, request.status);
}

/** The request's quorum as it stands: approvals of its current revision, oldest first. */
export async function tallyRequest(tx: Transaction, request: ActionRequestRow): Promise<QuorumTally> {
  const approvals = await tx
    .select({ reviewerId: reviews.reviewerId, groups: reviews.reviewerGroups })
    .from(reviews)
    .where(and(eq(reviews.requestId, request.id), eq(reviews.revision, request.revision), eq(reviews.verdict, 'APPROVE')))
    .orderBy(asc(reviews.createdAt), asc(reviews.id));
  return tallyQuorum(request.reviewRequirements, approvals);
}

export interface Settlement {
  status: 'APPROVED' | 'REJECTED';
  decidedBy: 'REVIEWER' | 'ADMIN';
  deciderId: string | null;
  reason: string | null;
}

/** Moves a locked PENDING request to its final status and returns it with its decision event. */
export async function settle(
  tx: Transaction,
  request: ActionRequestRow,
  settlement: Settlement,
): Promise<{ request: ActionRequestRow; event: NewAuditEvent }> {
  const [decided] = await tx
    .update(actionRequests)
    .set({
      status: settlement.status,
      decidedAt: sql`now()`,
      decidedBy: settlement.decidedBy,
      deciderId: settlement.deciderId,
      decisionReason: settlement.reason,
      nextEscalationAt: null,
      ...(settlement.status === 'APPROVED' ? { validUntil: approvalWindowEnd(request.evaluation) } : {}),
    })
    .where(eq(actionRequests.id, request.id))
    .returning();
  const event: NewAuditEvent = {
    type: settlement.status === 'APPROVED' ? 'ACTION_APPROVED' : 'ACTION_REJECTED',
    actorId: settlement.deciderId,
    requestId: request.id,
    data: {
      agentId: request.agentId,
      status: settlement.status,
      decidedBy: settlement.decidedBy,
      reason: settlement.reason,
      revision: request.revision,
    },
  };
  return { request: decided!, event };
}

/** The audit record of a party's refused attempt to decide (verdict) or extend (null) its own request. */
export function refusal(principal: Principal, request: ActionRequestRow, party: RequestParty, verdict: Verdict | null): NewAuditEvent {
  return {
    type: 'REVIEW_REFUSED',
    actorId: principal.id,
    requestId: request.id,
    data: { agentId: request.agentId, principalId: principal.id, party, verdict },
  };
}

/** How a mutation on a request ends: the request as changed, or a party's refusal; and its audit events. */
export type RequestOutcome = { request: ActionRequestRow; events: NewAuditEvent[] } | { refused: RequestParty; events: NewAuditEvent[] };

/**
 * Runs `work` in one transaction with its audit events, publishes them after the commit, then
 * returns the request or throws the refusal's SeparationOfDutiesError. A refusal commits: the
 * attempt stays on record.
 */
export async function commitOrRefuse(deps: Deps, work: (tx: Transaction) => Promise<RequestOutcome>): Promise<ActionRequestRow> {
  const { outcome, events } = await deps.db.transaction(async (tx) => {
    const outcome = await work(tx);
    return { outcome, events: await appendAuditEvents(tx, outcome.events) };
  });
  deps.hub.publish(events);
  if ('refused' in outcome) throw new SeparationOfDutiesError(outcome.refused);
  return outcome.request;
}

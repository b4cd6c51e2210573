import { and, count, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import type { Principal } from '../auth/roles.js';
import { actionRequests, reviews, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, NotAllowedError, NotFoundError } from '../errors.js';
import { parseInput, storableText } from '../validation.js';
import { Verdict, values } from '../vocabulary.js';
import { canView, reviewDenial } from './eligibility.js';
import { isUuid } from './queries.js';
import { approvalWindowEnd } from './request-action.js';

export const DecideActionInput = z.object({
  requestId: z.string(),
  verdict: z.enum(values(Verdict)),
  comment: storableText(2_000).nullish(),
});
export type DecideActionInput = z.input<typeof DecideActionInput>;

/**
 * A reviewer approves or rejects a pending request. The request row is locked for the whole
 * transaction, so concurrent reviewers are serialised: exactly one of them moves the request out
 * of PENDING and everyone after gets a ConflictError that changed nothing.
 */
export async function decideAction(deps: Deps, reviewer: Principal, rawInput: DecideActionInput): Promise<ActionRequestRow> {
  const input = parseInput(DecideActionInput, rawInput);
  if (!isUuid(input.requestId)) throw new NotFoundError('ActionRequest', input.requestId);

  const { request, events } = await deps.db.transaction(async (tx) => {
    const [locked] = await tx
      .select({ request: actionRequests, expired: sql<boolean>`${actionRequests.expiresAt} <= now()` })
      .from(actionRequests)
      .where(eq(actionRequests.id, input.requestId))
      .for('update');
    if (!locked || !canView(reviewer, locked.request)) throw new NotFoundError('ActionRequest', input.requestId);
    const current = locked.request;
    if (current.status !== 'PENDING') {
      throw new ConflictError(`The request is already ${current.status}; it can no longer be decided.`, current.status);
    }
    if (locked.expired) {
      throw new ConflictError(`The request's review deadline passed at ${current.expiresAt!.toISOString()}.`, current.status);
    }
    const denial = reviewDenial(reviewer, current);
    if (denial) throw new NotAllowedError(denial);

    const [previous] = await tx
      .select({ verdict: reviews.verdict })
      .from(reviews)
      .where(and(eq(reviews.requestId, current.id), eq(reviews.reviewerId, reviewer.id)));
    if (previous) throw new ConflictError(`You already reviewed this request (${previous.verdict}).`, current.status);

    await tx.insert(reviews).values({ requestId: current.id, reviewerId: reviewer.id, verdict: input.verdict, comment: input.comment ?? null });
    const [tally] = await tx
      .select({ approvals: count() })
      .from(reviews)
      .where(and(eq(reviews.requestId, current.id), eq(reviews.verdict, 'APPROVE')));
    const approvals = tally?.approvals ?? 0;

    const events: NewAuditEvent[] = [
      {
        type: 'REVIEW_SUBMITTED',
        actorId: reviewer.id,
        requestId: current.id,
        data: { agentId: current.agentId, reviewerId: reviewer.id, verdict: input.verdict, comment: input.comment ?? null, approvalsReceived: approvals },
      },
    ];
    const settles = input.verdict === 'REJECT' || approvals >= current.requiredApprovals;
    if (!settles) return { request: current, events: await appendAuditEvents(tx, events) };

    const status = input.verdict === 'REJECT' ? 'REJECTED' : 'APPROVED';
    const [decided] = await tx
      .update(actionRequests)
      .set({
        status,
        decidedAt: sql`now()`,
        decidedBy: 'REVIEWER',
        deciderId: reviewer.id,
        decisionReason: input.comment ?? null,
        ...(status === 'APPROVED' ? { validUntil: approvalWindowEnd(current.evaluation) } : {}),
      })
      .where(eq(actionRequests.id, current.id))
      .returning();
    events.push({
      type: status === 'REJECTED' ? 'ACTION_REJECTED' : 'ACTION_APPROVED',
      actorId: reviewer.id,
      requestId: current.id,
      data: { agentId: current.agentId, status, decidedBy: 'REVIEWER', reason: input.comment ?? null },
    });
    return { request: decided!, events: await appendAuditEvents(tx, events) };
  });
  deps.hub.publish(events);
  return request;
}

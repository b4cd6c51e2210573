import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import type { Transaction } from '../db/client.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { SWEEP_BATCH } from './expire.js';
import { settle, tallyRequest } from './pending.js';
import { nextStepAfter, reachSteps, requiredApprovals, reviewerGroups, summarize } from './requirements.js';

/**
 * The timeout ladder: applies every escalation step that is due (database time, counted from the
 * request's creation) to PENDING requests. A step adds its groups to its requirement, so more
 * reviewers become eligible; each is audited as ACTION_ESCALATED with the groups it added, which
 * is what puts the request in the new reviewers' queues. Rows are claimed with `FOR UPDATE SKIP
 * LOCKED` and `next_escalation_at` moves on in the same transaction, so with several instances
 * sweeping each step happens exactly once. Returns the requests it escalated.
 */
export async function escalateDueRequests(deps: Deps, batch = SWEEP_BATCH): Promise<ActionRequestRow[]> {
  const { escalated, events } = await deps.db.transaction(async (tx) => {
    const due = await tx
      .select({ request: actionRequests, elapsed: sql<number>`extract(epoch from now() - ${actionRequests.createdAt})::float8` })
      .from(actionRequests)
      .where(
        and(
          eq(actionRequests.status, 'PENDING'),
          lte(actionRequests.nextEscalationAt, sql`now()`),
          // An overdue request is the expiry sweep's: it needs no more reviewers.
          gt(actionRequests.expiresAt, sql`now()`),
        ),
      )
      .orderBy(asc(actionRequests.nextEscalationAt))
      .limit(batch)
      .for('update', { skipLocked: true });
    const escalated: ActionRequestRow[] = [];
    const events: NewAuditEvent[] = [];
    for (const { request, elapsed } of due) {
      const result = await applyDueSteps(tx, request, elapsed);
      escalated.push(result.request);
      events.push(...result.events);
    }
    return { escalated, events: await appendAuditEvents(tx, events) };
  });
  deps.hub.publish(events);
  return escalated;
}

async function applyDueSteps(
  tx: Transaction,
  request: ActionRequestRow,
  elapsedSeconds: number,
): Promise<{ request: ActionRequestRow; events: NewAuditEvent[] }> {
  // The row was claimed because its next step is due; the clock arithmetic must not say otherwise.
  const dueBy = Math.max(elapsedSeconds, nextStepAfter(request.reviewRequirements) ?? 0);
  const requirements = reachSteps(request.reviewRequirements, dueBy);
  const groups = reviewerGroups(requirements);
  const next = nextStepAfter(requirements);
  const [updated] = await tx
    .update(actionRequests)
    .set({
      reviewRequirements: requirements,
      requiredGroups: groups,
      nextEscalationAt: next === null ? null : sql`${actionRequests.createdAt} + make_interval(secs => ${next})`,
    })
    .where(eq(actionRequests.id, request.id))
    .returning();
  const events: NewAuditEvent[] = [
    {
      type: 'ACTION_ESCALATED',
      actorId: null,
      requestId: request.id,
      data: {
        agentId: request.agentId,
        policyVersion: request.evaluation.policyVersion,
        matchedRules: request.evaluation.matchedRules,
        errors: [],
        requiredGroups: groups,
        requiredApprovals: requiredApprovals(requirements),
        requirements: summarize(requirements),
        expiresAt: updated!.expiresAt!.toISOString(),
        step: {
          previousRequiredGroups: request.requiredGroups,
          addedGroups: request.requiredGroups.length === 0 ? [] : groups.filter((group) => !request.requiredGroups.includes(group)),
        },
      },
    },
  ];
  // Wider groups can let an approval already given count where it could not before.
  const tally = await tallyRequest(tx, updated!);
  if (!tally.met) return { request: updated!, events };
  const settled = await settle(tx, updated!, { status: 'APPROVED', decidedBy: 'REVIEWER', deciderId: null, reason: null });
  return { request: settled.request, events: [...events, settled.event] };
}

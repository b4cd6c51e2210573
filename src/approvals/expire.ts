import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';

export const SWEEP_BATCH = 100;
const TIMEOUT_REASON = 'No reviewer decided before the deadline.';

/**
 * Ends overdue PENDING requests as their rule's `onTimeout` says (EXPIRED by default, REJECTED
 * for `REJECT`), `decidedBy: TIMEOUT`, each with its audit event in the same transaction.
 *
 * Deadlines are compared with the database's clock, never an instance's. Rows are claimed with
 * `FOR UPDATE SKIP LOCKED`: instances sweeping at once take disjoint batches, and a reviewer's
 * `decideAction` (which locks the row too) either wins before the sweep or finds it decided, so
 * each request leaves PENDING exactly once. Returns the requests it ended.
 */
export async function expireOverdueRequests(deps: Deps, batch = SWEEP_BATCH): Promise<ActionRequestRow[]> {
  const { ended, events } = await deps.db.transaction(async (tx) => {
    const due = tx
      .select({ id: actionRequests.id })
      .from(actionRequests)
      .where(and(eq(actionRequests.status, 'PENDING'), lte(actionRequests.expiresAt, sql`now()`)))
      .orderBy(asc(actionRequests.expiresAt))
      .limit(batch)
      .for('update', { skipLocked: true });
    const ended = await tx
      .update(actionRequests)
      .set({
        status: sql`CASE WHEN ${actionRequests.evaluation} -> 'review' ->> 'onTimeout' = 'REJECT' THEN 'REJECTED'::action_status ELSE 'EXPIRED'::action_status END`,
        decidedAt: sql`now()`,
        decidedBy: 'TIMEOUT',
        decisionReason: TIMEOUT_REASON,
        nextEscalationAt: null,
      })
      .where(and(inArray(actionRequests.id, due), eq(actionRequests.status, 'PENDING')))
      .returning();
    const events = await appendAuditEvents(
      tx,
      ended.map((request): NewAuditEvent => ({
        type: request.status === 'REJECTED' ? 'ACTION_REJECTED' : 'ACTION_EXPIRED',
        actorId: null,
        requestId: request.id,
        data: { agentId: request.agentId, status: request.status, decidedBy: 'TIMEOUT', reason: TIMEOUT_REASON },
      })),
    );
    return { ended, events };
  });
  deps.hub.publish(events);
  return ended;
}

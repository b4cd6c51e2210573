import { and, asc, eq, gt, inArray, isNotNull, isNull, lte, sql } from 'drizzle-orm';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { SWEEP_BATCH } from './expire.js';

/**
 * Reminds reviewers of PENDING requests whose reminder is due (the policy's `review.remindAt`
 * share of the timeout, database time): each is audited once as ACTION_EXPIRING, which webhooks
 * send as `action.expiring` and reviewers' queues show. `remind_at` is cleared and `reminded_at`
 * set in the same transaction, and rows are claimed with `FOR UPDATE SKIP LOCKED`, so with several
 * instances sweeping a request is reminded exactly once. An overdue request is the expiry sweep's.
 * Returns the requests it reminded.
 */
export async function remindDueRequests(deps: Deps, batch = SWEEP_BATCH): Promise<ActionRequestRow[]> {
  const { reminded, events } = await deps.db.transaction(async (tx) => {
    const due = tx
      .select({ id: actionRequests.id })
      .from(actionRequests)
      .where(
        and(
          eq(actionRequests.status, 'PENDING'),
          isNotNull(actionRequests.remindAt),
          isNull(actionRequests.remindedAt),
          lte(actionRequests.remindAt, sql`now()`),
          gt(actionRequests.expiresAt, sql`now()`),
        ),
      )
      .orderBy(asc(actionRequests.remindAt))
      .limit(batch)
      .for('update', { skipLocked: true });
    const rows = await tx
      .update(actionRequests)
      .set({ remindAt: null, remindedAt: sql`now()` })
      .where(and(inArray(actionRequests.id, due), eq(actionRequests.status, 'PENDING')))
      .returning({ request: actionRequests, secondsLeft: sql<number>`extract(epoch from ${actionRequests.expiresAt} - now())::float8` });
    const events = await appendAuditEvents(
      tx,
      rows.map(({ request, secondsLeft }): NewAuditEvent => ({
        type: 'ACTION_EXPIRING',
        actorId: null,
        requestId: request.id,
        data: { agentId: request.agentId, expiresAt: request.expiresAt!.toISOString(), secondsLeft: Math.max(0, Math.round(secondsLeft)) },
      })),
    );
    return { reminded: rows.map((row) => row.request), events };
  });
  deps.hub.publish(events);
  return reminded;
}

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
      })
      .where(and(inArray(actionRequests.id, due), eq(actionRequests.status, 'PENDING')))
      .returning();
    const events = await appendAuditEvents(
      tx,
      ended.map(
        (request): NewAuditEvent => ({
          type: request.status === 'REJECTED' ? 'ACTION_REJECTED' : 'ACTION_EXPIRED',
          actorId: null,
          requestId: request.id,
          data: { agentId: request.agentId, status: request.status, decidedBy: 'TIMEOUT', reason: TIMEOUT_REASON },
        }),
      ),
    );
    return { ended, events };
  });
  deps.hub.publish(events);
  return ended;
}

export interface Sweeper {
  stop(): Promise<void>;
}

/**
 * Runs `expireOverdueRequests` every `intervalMs` on this instance (every instance runs one; the
 * row locks keep them from doing the same work). A full batch is followed at once by another.
 */
export function startSweeper(deps: Deps, intervalMs: number, onError: (error: unknown) => void): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const sweep = async () => {
    try {
      while (!stopped && (await expireOverdueRequests(deps)).length === SWEEP_BATCH) {
        // A full batch: more may be due; go on without waiting for the next tick.
      }
    } catch (error) {
      onError(error);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { ActionOutcome, values } from '../vocabulary.js';

export const ReportActionOutcomeInput = z.object({
  requestId: z.string(),
  outcome: z.enum(values(ActionOutcome)),
  detail: storableText(4_000).nullish(),
});
export type ReportActionOutcomeInput = z.input<typeof ReportActionOutcomeInput>;

/**
 * The agent records what happened when it performed an approved action, once, within the
 * approval window (`validUntil`, database time). Reporting on a request that was not approved,
 * twice, or after the window is a ConflictError that changes nothing.
 */
export async function reportActionOutcome(deps: Deps, agent: Principal, rawInput: ReportActionOutcomeInput): Promise<ActionRequestRow> {
  authorize(agent, Permission.RequestAction);
  const input = parseInput(ReportActionOutcomeInput, rawInput);
  if (!isUuid(input.requestId)) throw new NotFoundError('ActionRequest', input.requestId);

  const { request, events } = await deps.db.transaction(async (tx) => {
    const [locked] = await tx
      .select({ request: actionRequests, windowClosed: sql<boolean>`coalesce(${actionRequests.validUntil} < now(), false)` })
      .from(actionRequests)
      .where(eq(actionRequests.id, input.requestId))
      .for('update');
    if (!locked || locked.request.agentId !== agent.id) throw new NotFoundError('ActionRequest', input.requestId);
    const current = locked.request;
    if (current.status !== 'APPROVED') {
      throw new ConflictError(`The request is ${current.status}: only an APPROVED request has an outcome to report.`, current.status);
    }
    if (current.outcome) throw new ConflictError(`The outcome was already reported (${current.outcome}).`, current.status);
    if (locked.windowClosed) {
      throw new ConflictError(
        `The approval window closed at ${current.validUntil!.toISOString()}; request approval again.`,
        current.status,
      );
    }
    const [reported] = await tx
      .update(actionRequests)
      .set({ outcome: input.outcome, outcomeDetail: input.detail ?? null, outcomeReportedAt: sql`now()` })
      .where(eq(actionRequests.id, current.id))
      .returning();
    const events = await appendAuditEvents(tx, [
      {
        type: 'OUTCOME_REPORTED',
        actorId: agent.id,
        requestId: current.id,
        data: { agentId: agent.id, outcome: input.outcome, detail: input.detail ?? null },
      },
    ]);
    return { request: reported!, events };
  });
  deps.hub.publish(events);
  return request;
}

import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { lockRequest } from './pending.js';

export const CancelActionRequestInput = z.object({
  requestId: z.string(),
  reason: storableText(2_000).nullish(),
});
export type CancelActionRequestInput = z.input<typeof CancelActionRequestInput>;

/**
 * The requesting agent withdraws its own PENDING request: CANCELLED, `decidedBy: REQUESTER`,
 * audited in the same transaction. Like a decision, it locks the row, so it races cleanly with
 * reviewers and the sweeper: whoever comes second gets a ConflictError and changes nothing.
 */
export async function cancelActionRequest(deps: Deps, agent: Principal, rawInput: CancelActionRequestInput): Promise<ActionRequestRow> {
  authorize(agent, Permission.RequestAction);
  const input = parseInput(CancelActionRequestInput, rawInput);
  if (!isUuid(input.requestId)) throw new NotFoundError('ActionRequest', input.requestId);

  const { request, events } = await deps.db.transaction(async (tx) => {
    const current = (await lockRequest(tx, input.requestId))?.request;
    // Only the agent that asked may withdraw; to anyone else the request is simply not found.
    if (!current || current.agentId !== agent.id) throw new NotFoundError('ActionRequest', input.requestId);
    if (current.status !== 'PENDING') {
      throw new ConflictError(`The request is already ${current.status}; only a PENDING request can be cancelled.`, current.status);
    }
    const [cancelled] = await tx
      .update(actionRequests)
      .set({
        status: 'CANCELLED',
        decidedAt: sql`now()`,
        decidedBy: 'REQUESTER',
        deciderId: agent.id,
        decisionReason: input.reason ?? null,
      })
      .where(eq(actionRequests.id, current.id))
      .returning();
    const events = await appendAuditEvents(tx, [
      {
        type: 'ACTION_CANCELLED',
        actorId: agent.id,
        requestId: current.id,
        data: { agentId: agent.id, status: 'CANCELLED', decidedBy: 'REQUESTER', reason: input.reason ?? null },
      },
    ]);
    return { request: cancelled!, events };
  });
  deps.hub.publish(events);
  return request;
}

import { z } from 'zod';
import type { NewAuditEvent } from '../audit/events.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { Verdict, values } from '../vocabulary.js';
import { partyOf } from './eligibility.js';
import { assertPending, commitOrRefuse, lockRequest, refusal, settle, tallyRequest, type RequestOutcome } from './pending.js';

export const OverrideDecisionInput = z.object({
  requestId: z.string(),
  verdict: z.enum(values(Verdict)),
  reason: storableText(2_000).refine((reason) => reason.trim().length > 0, 'is required: say why the review rules are set aside'),
});
export type OverrideDecisionInput = z.input<typeof OverrideDecisionInput>;

/**
 * Break-glass: an ADMIN decides a PENDING request outside the review rules (quorum, groups),
 * though never approves one it is a party to (owner of the agent, the human it acts for): that
 * is a SeparationOfDutiesError, audited like a party's review. Never silent: it needs a reason,
 * the request shows `decidedBy: ADMIN` (`overridden`), and a DECISION_OVERRIDDEN event precedes
 * the decision in the audit log, in the same transaction. It races with reviewers and the sweeper like any decision.
 */
export async function overrideDecision(deps: Deps, admin: Principal, rawInput: OverrideDecisionInput): Promise<ActionRequestRow> {
  authorize(admin, Permission.OverrideDecision);
  const input = parseInput(OverrideDecisionInput, rawInput);

  return commitOrRefuse(deps, async (tx): Promise<RequestOutcome> => {
    const locked = isUuid(input.requestId) ? await lockRequest(tx, input.requestId) : null;
    if (!locked) throw new NotFoundError('ActionRequest', input.requestId);
    // Break-glass is not a way around separation of duties: a party cannot approve its own request.
    const party = input.verdict === 'APPROVE' ? partyOf(admin, locked.request) : null;
    if (party) return { refused: party, events: [refusal(admin, locked.request, party, input.verdict)] };
    assertPending(locked, 'overridden');
    const tally = await tallyRequest(tx, locked.request);
    const settled = await settle(tx, locked.request, {
      status: input.verdict === 'APPROVE' ? 'APPROVED' : 'REJECTED',
      decidedBy: 'ADMIN',
      deciderId: admin.id,
      reason: input.reason,
    });
    const events: NewAuditEvent[] = [
      {
        type: 'DECISION_OVERRIDDEN',
        actorId: admin.id,
        requestId: locked.request.id,
        data: {
          agentId: locked.request.agentId,
          adminId: admin.id,
          verdict: input.verdict,
          reason: input.reason,
          approvalsReceived: tally.received,
        },
      },
      settled.event,
    ];
    return { request: settled.request, events };
  });
}

import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { NewAuditEvent } from '../audit/events.js';
import type { Principal } from '../auth/roles.js';
import type { Transaction } from '../db/client.js';
import { reviews, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError } from '../errors.js';
import { parseRedactionPaths } from '../policy/index.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { Verdict, values } from '../vocabulary.js';
import { amendRequest } from './amend.js';
import { canView, partyOf, reviewDenial } from './eligibility.js';
import { assertPending, commitOrRefuse, lockRequest, refusal, settle, tallyRequest, type RequestOutcome } from './pending.js';
import { ActionParams } from './request-action.js';
import { grantStanding, StandingInput } from './standing.js';

export const DecideActionInput = z.object({
  requestId: z.string(),
  verdict: z.enum(values(Verdict)),
  comment: storableText(2_000).nullish(),
  /** Approve with changes: the params the reviewer approves instead of the agent's. */
  params: ActionParams.nullish(),
  /** And approve requests like this one for a while (a standing approval). */
  standing: StandingInput.nullish(),
  /** The revision the reviewer read: the review is refused if the params changed since. */
  revision: z.number().int().min(0).nullish(),
});
export type DecideActionInput = z.input<typeof DecideActionInput>;

/**
 * A reviewer approves or rejects a pending request. The request row is locked for the whole
 * transaction, so concurrent reviewers are serialised: exactly one of them moves the request out
 * of PENDING and everyone after gets a ConflictError that changed nothing.
 *
 * Approvals count towards every requirement of the request (one per deciding ESCALATE rule), a
 * person at most once; the request is APPROVED when all are met. One rejection rejects. A party to
 * the request (its agent, any agent, the agent's owner, the human it acts for) is refused with a
 * SeparationOfDutiesError, and the attempt is audited.
 */
export async function decideAction(deps: Deps, reviewer: Principal, rawInput: DecideActionInput): Promise<ActionRequestRow> {
  const input = parseInput(DecideActionInput, rawInput);
  if (input.params != null && input.verdict !== 'APPROVE') {
    throw InvalidInputError.of('params', 'can only be given when approving (approve with changes)');
  }
  if (input.standing != null && input.verdict !== 'APPROVE') {
    throw InvalidInputError.of('standing', 'can only be given when approving');
  }

  return commitOrRefuse(deps, (tx) => decide(deps, tx, reviewer, input));
}

async function decide(
  deps: Deps,
  tx: Transaction,
  reviewer: Principal,
  input: z.output<typeof DecideActionInput>,
): Promise<RequestOutcome> {
  const locked = isUuid(input.requestId) ? await lockRequest(tx, input.requestId) : null;
  // Parties are refused before anything else is checked, and the attempt is recorded (committed,
  // since the refusal is a result, not a failure). An agent is refused even for an unknown id.
  const party = locked ? partyOf(reviewer, locked.request) : reviewer.kind === 'HUMAN' ? null : 'AGENT';
  if (party) return { refused: party, events: locked ? [refusal(reviewer, locked.request, party, input.verdict)] : [] };
  if (!locked || !canView(reviewer, locked.request)) throw new NotFoundError('ActionRequest', input.requestId);
  assertPending(locked, 'decided');
  const denial = reviewDenial(reviewer, locked.request);
  if (denial) throw new NotAllowedError(denial);
  assertRevision(locked.request, input.revision);
  return review(deps, tx, reviewer, locked.request, input);
}

/** A review of what the reviewer read: refused when another reviewer changed the params since. */
export function assertRevision(request: ActionRequestRow, revision: number | null | undefined): void {
  if (revision == null || revision === request.revision) return;
  throw new ConflictError(
    `The params were changed since you read this request (you read revision ${revision}; revision ${request.revision} is current): read it again before deciding.`,
    request.status,
  );
}

async function review(
  deps: Deps,
  tx: Transaction,
  reviewer: Principal,
  pending: ActionRequestRow,
  input: z.output<typeof DecideActionInput>,
): Promise<RequestOutcome> {
  const current = input.params != null ? await amendRequest(deps, tx, pending, input.params) : pending;
  const amended = current.revision !== pending.revision;

  const [previous] = await tx
    .select({ verdict: reviews.verdict })
    .from(reviews)
    .where(and(eq(reviews.requestId, current.id), eq(reviews.reviewerId, reviewer.id), eq(reviews.revision, current.revision)));
  if (previous) throw new ConflictError(`You already reviewed this request (${previous.verdict}).`, current.status);

  await tx.insert(reviews).values({
    requestId: current.id,
    reviewerId: reviewer.id,
    verdict: input.verdict,
    comment: input.comment ?? null,
    reviewerGroups: reviewer.groups,
    revision: current.revision,
    amendedParams: amended ? current.amendedParams : null,
  });
  const tally = await tallyRequest(tx, current);
  const amendment = deps.redactor.redact(amended ? current.amendedParams : null, 'params', parseRedactionPaths(current.redactPaths), [
    'amendedParams',
  ]);
  const events: NewAuditEvent[] = [
    {
      type: 'REVIEW_SUBMITTED',
      actorId: reviewer.id,
      requestId: current.id,
      data: {
        agentId: current.agentId,
        reviewerId: reviewer.id,
        verdict: input.verdict,
        comment: input.comment ?? null,
        approvalsReceived: tally.received,
        revision: current.revision,
        amendedParams: amendment.value,
      },
      redacted: amendment.redacted,
    },
  ];
  if (input.standing) events.push(await grantStanding(tx, reviewer, current, input.standing));
  if (input.verdict === 'APPROVE' && !tally.met) return { request: current, events };

  const settled = await settle(tx, current, {
    status: input.verdict === 'REJECT' ? 'REJECTED' : 'APPROVED',
    decidedBy: 'REVIEWER',
    deciderId: reviewer.id,
    reason: input.comment ?? null,
  });
  return { request: settled.request, events: [...events, settled.event] };
}

import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { NewAuditEvent } from '../audit/events.js';
import type { Principal } from '../auth/roles.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, NotAllowedError, NotFoundError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { canView, partyOf, reviewDenial } from './eligibility.js';
import { assertPending, commitOrRefuse, lockRequest, refusal, type RequestOutcome } from './pending.js';

/** The bounds on moving a review deadline: per extension, and extensions per request. */
export const EXTENSION_LIMITS = { maxSeconds: 86_400, maxExtensions: 3 } as const;

export const ExtendActionRequestInput = z.object({
  requestId: z.string(),
  bySeconds: z
    .number()
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1')
    .max(EXTENSION_LIMITS.maxSeconds, `must be at most ${EXTENSION_LIMITS.maxSeconds} (one day)`),
  reason: storableText(2_000).nullish(),
});
export type ExtendActionRequestInput = z.input<typeof ExtendActionRequestInput>;

/**
 * An eligible reviewer gives a PENDING request more time: its deadline moves `bySeconds` later
 * (database time), at most `EXTENSION_LIMITS.maxExtensions` times, each audited as
 * ACTION_EXTENDED. Escalation steps keep their times (they count from the request's creation).
 * A party to the request gets a SeparationOfDutiesError, and the attempt is recorded.
 */
export async function extendActionRequest(deps: Deps, reviewer: Principal, rawInput: ExtendActionRequestInput): Promise<ActionRequestRow> {
  const input = parseInput(ExtendActionRequestInput, rawInput);

  return commitOrRefuse(deps, async (tx): Promise<RequestOutcome> => {
    const locked = isUuid(input.requestId) ? await lockRequest(tx, input.requestId) : null;
    if (!locked || !canView(reviewer, locked.request)) throw new NotFoundError('ActionRequest', input.requestId);
    const current = locked.request;
    // A party's attempt is refused and recorded, as for decideAction.
    const party = partyOf(reviewer, current);
    if (party) return { refused: party, events: [refusal(reviewer, current, party, null)] };
    assertPending(locked, 'extended');
    const denial = reviewDenial(reviewer, current);
    if (denial) throw new NotAllowedError(denial);
    if (current.extensions >= EXTENSION_LIMITS.maxExtensions) {
      throw new ConflictError(`The deadline was already extended ${current.extensions} times, the most allowed.`, current.status);
    }
    const [extended] = await tx
      .update(actionRequests)
      .set({
        expiresAt: sql`${actionRequests.expiresAt} + make_interval(secs => ${input.bySeconds})`,
        extensions: sql`${actionRequests.extensions} + 1`,
        // A reminder not yet sent moves with the deadline; one already sent is not sent again.
        remindAt: sql`${actionRequests.remindAt} + make_interval(secs => ${input.bySeconds})`,
      })
      .where(eq(actionRequests.id, current.id))
      .returning();
    const events: NewAuditEvent[] = [
      {
        type: 'ACTION_EXTENDED',
        actorId: reviewer.id,
        requestId: current.id,
        data: {
          agentId: current.agentId,
          reviewerId: reviewer.id,
          bySeconds: input.bySeconds,
          previousExpiresAt: current.expiresAt!.toISOString(),
          expiresAt: extended!.expiresAt!.toISOString(),
          extensions: extended!.extensions,
          reason: input.reason ?? null,
        },
      },
    ];
    return { request: extended!, events };
  });
}

import { z } from 'zod';
import type { Principal } from '../auth/roles.js';
import type { ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { DomainError } from '../errors.js';
import { parseInput, storableText } from '../validation.js';
import { Verdict, values } from '../vocabulary.js';
import { decideAction } from './decide-action.js';

/** The most requests one batch may decide: a screenful of a reviewer's queue. */
export const MAX_BATCH_DECISIONS = 50;

/**
 * Several decisions at once. Deliberately narrower than `decideAction`: no changed params and no
 * standing approval, so a batch can never grant more than its items say.
 */
export const DecideActionsInput = z.object({
  decisions: z
    .array(
      z.object({
        requestId: z.string().max(100),
        verdict: z.enum(values(Verdict)),
        comment: storableText(2_000).nullish(),
        revision: z.number().int().min(0).nullish(),
      }),
    )
    .min(1, 'must hold at least one decision')
    .max(MAX_BATCH_DECISIONS, `must hold at most ${MAX_BATCH_DECISIONS} decisions`)
    .refine((decisions) => new Set(decisions.map((d) => d.requestId)).size === decisions.length, 'must name each request once'),
});
export type DecideActionsInput = z.input<typeof DecideActionsInput>;

/** One item of a batch: the request afterwards, or the expected error that left it as it was. */
export interface BatchDecisionResult {
  requestId: string;
  request: ActionRequestRow | null;
  error: DomainError | null;
}

/**
 * Decides each request on its own, in order, exactly as `decideAction` would (its own transaction,
 * its own checks and audit events): one refusal (already decided elsewhere, not yours to review)
 * neither undoes nor stops the others. Unexpected failures propagate; the items before them stay
 * decided, as separate `decideAction` calls would.
 */
export async function decideActions(deps: Deps, reviewer: Principal, rawInput: DecideActionsInput): Promise<BatchDecisionResult[]> {
  const input = parseInput(DecideActionsInput, rawInput);
  const results: BatchDecisionResult[] = [];
  for (const decision of input.decisions) {
    try {
      results.push({ requestId: decision.requestId, request: await decideAction(deps, reviewer, decision), error: null });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      results.push({ requestId: decision.requestId, request: null, error });
    }
  }
  return results;
}

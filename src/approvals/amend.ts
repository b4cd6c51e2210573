import canonicalize from 'canonicalize';
import { eq, sql } from 'drizzle-orm';
import { getPrincipalsByIds } from '../auth/principals.js';
import type { Transaction } from '../db/client.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { InvalidInputError, NotAllowedError } from '../errors.js';
import { evaluateRequest, evaluationInputFor } from './evaluation.js';

/** The params the agent may act with: a reviewer's amendment when there is one, else its own. */
export function effectiveParams(request: Pick<ActionRequestRow, 'params' | 'amendedParams'>): Record<string, unknown> | null {
  return request.amendedParams ?? request.params;
}

/**
 * Approve with changes: a reviewer replaces the params of a locked PENDING request. Allowed only
 * when every deciding rule says `allowAmend: true`. The changed request is evaluated again by the
 * active policy and refused if it would be blocked, or if it would be escalated by a rule the
 * request's review requirements do not already include (they stay as they are, so a change must
 * never need more review than it gets); the original params stay where they were,
 * the amendment and its evaluation are stored next to them, and the request's revision moves on,
 * so approvals given to an earlier version no longer count. Unchanged params change nothing.
 */
export async function amendRequest(
  deps: Deps,
  tx: Transaction,
  request: ActionRequestRow,
  params: Record<string, unknown>,
): Promise<ActionRequestRow> {
  if (!request.evaluation.amendable) {
    throw new NotAllowedError('The policy does not let reviewers change this request: none of its rules says `allowAmend: true`.');
  }
  if (canonicalize(params) === canonicalize(effectiveParams(request) ?? {})) return request;

  const people = await getPrincipalsByIds(tx, [request.agentId, ...(request.onBehalfOfId ? [request.onBehalfOfId] : [])]);
  const find = (id: string | null) => people.find((p) => p.id === id) ?? null;
  const input = evaluationInputFor(find(request.agentId)!, find(request.onBehalfOfId), { ...request, params }, deps.clock.now());
  const policy = await deps.policies.fresh(tx);
  const evaluation = await evaluateRequest(tx, policy, input, { lock: false });
  if (evaluation.effect === 'BLOCK') {
    const rules = evaluation.decidingRules.map((id) => `"${id}"`).join(', ') || 'the default effect';
    const why = evaluation.reason ? ` (${evaluation.reason})` : '';
    throw InvalidInputError.of('params', `the change was refused: the policy would block the changed request by ${rules}${why}`);
  }
  // The request keeps its review requirements, so a change must not need reviews they lack.
  const stricter =
    evaluation.effect === 'ESCALATE' ? evaluation.decidingRules.filter((id) => !request.evaluation.decidingRules.includes(id)) : [];
  if (stricter.length > 0) {
    const rules = stricter.map((id) => `"${id}"`).join(', ');
    throw InvalidInputError.of(
      'params',
      `the change was refused: it would need review under ${rules} as well; the agent must ask again with these params`,
    );
  }
  const [amended] = await tx
    .update(actionRequests)
    .set({
      amendedParams: params,
      amendedEvaluation: evaluation,
      revision: sql`${actionRequests.revision} + 1`,
      // What the policy in force redacts now is redacted in the amendment too.
      redactPaths: [...new Set([...request.redactPaths, ...(policy.document.redact ?? [])])],
    })
    .where(eq(actionRequests.id, request.id))
    .returning();
  return amended!;
}

import type { CompiledPolicy, CompiledRule } from './compile.js';
import { DEFAULT_REVIEW, type Evaluation, type EvaluationInput, type PolicyEffect, type ReviewRequirement } from './types.js';

const RANK: Record<PolicyEffect, number> = { ALLOW: 0, ESCALATE: 1, BLOCK: 2 };

/** Merges the requirements of every matching ESCALATE rule: all of them must be satisfied. */
function mergeReviews(rules: CompiledRule[]): ReviewRequirement {
  const groups = new Set<string>();
  let approvals = DEFAULT_REVIEW.approvals;
  let timeoutSeconds: number | undefined;
  for (const { rule } of rules) {
    rule.review?.groups?.forEach((group) => groups.add(group));
    approvals = Math.max(approvals, rule.review?.approvals ?? DEFAULT_REVIEW.approvals);
    const timeout = rule.review?.timeoutSeconds;
    if (timeout !== undefined) timeoutSeconds = Math.min(timeoutSeconds ?? timeout, timeout);
  }
  return { groups: [...groups].sort(), approvals, timeoutSeconds: timeoutSeconds ?? DEFAULT_REVIEW.timeoutSeconds };
}

function explain(effect: PolicyEffect, deciding: CompiledRule[], outranked: CompiledRule[], input: EvaluationInput): string {
  const target = `action "${input.action}" on "${input.resource}"`;
  if (deciding.length === 0) {
    return `No rule matched ${target}; the policy's default effect ${effect} applies.`;
  }
  const names = deciding.map(({ rule }) => `"${rule.id}"`).join(', ');
  let text = `${effect} by rule${deciding.length > 1 ? 's' : ''} ${names}, whose action and resource globs matched ${target}.`;
  if (outranked.length > 0) {
    const others = outranked.map(({ rule }) => `"${rule.id}" (${rule.effect})`).join(', ');
    text += ` Also matched but outranked by ${effect}: ${others}.`;
  }
  return text;
}

/**
 * Decides a request. Every rule whose action and resource globs match is recorded; the
 * strongest effect wins (BLOCK > ESCALATE > ALLOW) and no match falls back to the policy's
 * default effect.
 */
export function evaluatePolicy(policy: CompiledPolicy, input: EvaluationInput): Evaluation {
  const matched = policy.rules.filter((r) => r.matchesAction(input.action) && r.matchesResource(input.resource));
  let effect = policy.document.defaultEffect;
  if (matched.length > 0) {
    effect = matched.reduce<PolicyEffect>((best, { rule }) => (RANK[rule.effect] > RANK[best] ? rule.effect : best), 'ALLOW');
  }
  const deciding = matched.filter(({ rule }) => rule.effect === effect);
  const outranked = matched.filter(({ rule }) => rule.effect !== effect);
  return {
    effect,
    matchedRules: matched.map(({ rule }) => rule.id),
    decidingRules: deciding.map(({ rule }) => rule.id),
    policyVersion: policy.version,
    explanation: explain(effect, deciding, outranked, input),
    reason: deciding.find(({ rule }) => rule.reason)?.rule.reason ?? null,
    review: effect === 'ESCALATE' ? mergeReviews(deciding) : null,
  };
}

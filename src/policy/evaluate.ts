import { celActivation, celErrorMessage, type CelActivation } from './cel.js';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import { explain, type Considered } from './explain.js';
import {
  DEFAULT_REVIEW,
  DEFAULT_VALID_FOR_SECONDS,
  type EscalationStep,
  type Evaluation,
  type EvaluationInput,
  type PolicyEffect,
  type RateLimit,
  type ReviewRequirement,
  type RuleError,
  type RuleReviewRequirement,
  type RuleTrace,
  type RuleUsage,
  type TimeoutAction,
} from './types.js';

const RANK: Record<PolicyEffect, number> = { ALLOW: 0, ESCALATE: 1, BLOCK: 2 };

/** Builds the CEL variables at most once per evaluation, and only if a condition runs. */
class Activation {
  #value: CelActivation | null = null;
  constructor(private readonly input: EvaluationInput) {}
  get value(): CelActivation {
    return (this.#value ??= celActivation(this.input));
  }
}

/**
 * Checks one rule's criteria in a fixed order (agents, actions, resources, when, limit) and
 * returns the first that failed. A CEL runtime error never allows: the condition counts as
 * true for BLOCK and ESCALATE rules and as false for ALLOW rules. `usage` undefined skips the limit.
 */
function consider(
  { rule, matchesAgent, matchesAction, matchesResource, condition }: CompiledRule,
  input: EvaluationInput,
  activation: Activation,
  usage: RuleUsage | undefined | false,
): RuleTrace {
  let failed: RuleTrace['failed'] = null;
  let error: string | undefined;
  if (!matchesAgent(input.agent)) failed = 'agents';
  else if (!matchesAction(input.action)) failed = 'actions';
  else if (!matchesResource(input.resource)) failed = 'resources';
  else {
    if (condition !== null) {
      try {
        if (!condition(activation.value)) failed = 'when';
      } catch (caught) {
        error = celErrorMessage(caught);
        if (rule.effect === 'ALLOW') failed = 'when';
      }
    }
    if (failed === null && usage !== false && rule.limit && (usage?.get(rule.id) ?? 0) >= rule.limit.count) failed = 'limit';
  }
  return error === undefined ? { ruleId: rule.id, effect: rule.effect, failed } : { ruleId: rule.id, effect: rule.effect, failed, error };
}

/** Fresh copies of escalation steps, sorted by time (Array#sort is stable: ties keep their order). */
const sortedSteps = (steps: readonly EscalationStep[]): EscalationStep[] =>
  steps.map((step) => ({ afterSeconds: step.afterSeconds, groups: [...step.groups] })).sort((a, b) => a.afterSeconds - b.afterSeconds);

/**
 * What an escalation asks of reviewers, one requirement per deciding ESCALATE rule in policy
 * order, with `DEFAULT_REVIEW` filling what a rule leaves unset. When no rule decided (the
 * default effect escalated), a single requirement for any one reviewer. Arrays are fresh copies,
 * never shared with the compiled policy.
 */
function reviewRequirements(deciding: readonly CompiledRule[]): RuleReviewRequirement[] {
  if (deciding.length === 0)
    return [{ ruleId: null, groups: [...DEFAULT_REVIEW.groups], approvals: DEFAULT_REVIEW.approvals, escalation: [] }];
  return deciding.map(({ rule }) => ({
    ruleId: rule.id,
    groups: [...(rule.review?.groups ?? DEFAULT_REVIEW.groups)],
    approvals: rule.review?.approvals ?? DEFAULT_REVIEW.approvals,
    escalation: sortedSteps(rule.review?.escalation ?? []),
  }));
}

/**
 * Merges the requirements of every deciding ESCALATE rule into one summary: groups are united,
 * the shortest timeout wins, REJECT on timeout wins over EXPIRE, the earliest reminder wins, and
 * escalation steps are pooled in time order. `approvals` is the sum over `requirements`: each must be met on its own and a
 * person counts once, so that is the least number of distinct people needed.
 */
function mergeReviews(rules: readonly CompiledRule[], requirements: readonly RuleReviewRequirement[]): ReviewRequirement {
  const groups = new Set<string>();
  const approvals = requirements.reduce((sum, requirement) => sum + requirement.approvals, 0);
  let timeoutSeconds: number | undefined;
  let onTimeout: TimeoutAction | undefined;
  let remindAt: number | undefined;
  const escalation: EscalationStep[] = [];
  for (const { rule } of rules) {
    const review = rule.review;
    if (!review) continue;
    review.groups?.forEach((group) => groups.add(group));
    if (review.timeoutSeconds !== undefined) timeoutSeconds = Math.min(timeoutSeconds ?? review.timeoutSeconds, review.timeoutSeconds);
    if (review.onTimeout !== undefined && onTimeout !== 'REJECT') onTimeout = review.onTimeout;
    if (review.escalation) escalation.push(...review.escalation);
    if (review.remindAt !== undefined) remindAt = Math.min(remindAt ?? review.remindAt, review.remindAt);
  }
  const merged: ReviewRequirement = {
    groups: [...groups].sort(),
    approvals,
    timeoutSeconds: timeoutSeconds ?? DEFAULT_REVIEW.timeoutSeconds,
  };
  if (onTimeout !== undefined) merged.onTimeout = onTimeout;
  if (remindAt !== undefined) merged.remindAt = remindAt;
  // Steps at the same time keep policy order.
  if (escalation.length > 0) merged.escalation = sortedSteps(escalation);
  return merged;
}

/**
 * Decides a request. A rule matches when its agents, actions, resources, when condition and
 * limit all hold (`usage` gives, per rate-limited rule, the matching requests already in its
 * window; missing counts as 0). The strongest matching effect wins (BLOCK > ESCALATE > ALLOW);
 * no match falls back to the policy's default effect. Only the rules the index offers for the
 * request's action and resource are looked at; `trace` lists them in policy order.
 */
export function evaluatePolicy(policy: CompiledPolicy, input: EvaluationInput, usage?: RuleUsage): Evaluation {
  const positions = policy.index.candidates(input.action, input.resource);
  const activation = new Activation(input);
  const considered: Considered[] = [];
  const matched: CompiledRule[] = [];
  const errors: RuleError[] = [];
  let best: PolicyEffect | null = null;
  for (const position of positions) {
    const compiled = policy.rules[position]!;
    const entry = consider(compiled, input, activation, usage);
    considered.push({ compiled, entry });
    if (entry.error !== undefined) errors.push({ ruleId: entry.ruleId, message: entry.error });
    if (entry.failed === null) {
      matched.push(compiled);
      if (best === null || RANK[entry.effect] > RANK[best]) best = entry.effect;
    }
  }
  const effect = best ?? policy.document.defaultEffect;
  const deciding = matched.filter(({ rule }) => rule.effect === effect);
  const outranked = matched.filter(({ rule }) => rule.effect !== effect);
  const requirements = effect === 'ESCALATE' ? reviewRequirements(deciding) : [];
  return {
    effect,
    matchedRules: matched.map(({ rule }) => rule.id),
    decidingRules: deciding.map(({ rule }) => rule.id),
    policyVersion: policy.version,
    explanation: explain({ effect, deciding, outranked, considered, input, usage }),
    reason: deciding.find(({ rule }) => rule.reason)?.rule.reason ?? null,
    review: effect === 'ESCALATE' ? mergeReviews(deciding, requirements) : null,
    requirements,
    // The default effect has no rule to allow it.
    amendable: effect === 'ESCALATE' && deciding.length > 0 && deciding.every(({ rule }) => rule.allowAmend === true),
    standingAllowed: effect === 'ESCALATE' && deciding.every(({ rule }) => rule.review?.allowStanding !== false),
    reasonRequiredBy: matched.filter(({ rule }) => rule.requireReason === true).map(({ rule }) => rule.id),
    validForSeconds: effect === 'BLOCK' ? null : approvalWindow(deciding),
    errors,
    trace: considered.map(({ entry }) => entry),
  };
}

/** The shortest window among the deciding rules that set one (like timeouts), else the default. */
function approvalWindow(deciding: readonly CompiledRule[]): number {
  const windows = deciding.map(({ rule }) => rule.validForSeconds).filter((value): value is number => value !== undefined);
  return windows.length > 0 ? Math.min(...windows) : DEFAULT_VALID_FOR_SECONDS;
}

/**
 * The rate-limited rules whose other criteria (agents, actions, resources, when) hold for this
 * request: the service counts usage for these only, then calls `evaluatePolicy` with the counts.
 */
export function limitedRuleIds(policy: CompiledPolicy, input: EvaluationInput): { ruleId: string; limit: RateLimit }[] {
  const activation = new Activation(input);
  const limited: { ruleId: string; limit: RateLimit }[] = [];
  for (const position of policy.index.candidates(input.action, input.resource)) {
    const compiled = policy.rules[position]!;
    const { limit } = compiled.rule;
    if (limit && consider(compiled, input, activation, false).failed === null) limited.push({ ruleId: compiled.rule.id, limit });
  }
  return limited;
}

import type { Evaluation, RuleError, RuleTrace } from '../../policy/index.js';
import { builder } from '../builder.js';
import { PolicyEffectEnum } from './enums.js';
import { ReviewRequirementRef, RuleReviewRequirementRef } from './policy-rule.js';

const RuleErrorRef = builder.objectRef<RuleError>('RuleError').implement({
  description:
    "A rule's `when` condition failed at evaluation time. Such an error never allows: BLOCK and ESCALATE rules count as matched, ALLOW rules as not matched.",
  fields: (t) => ({
    ruleId: t.exposeString('ruleId', { description: 'The rule whose condition failed.' }),
    message: t.exposeString('message', { description: "The CEL runtime's message, e.g. a missing field." }),
  }),
});

const RuleCriterionEnum = builder.enumType('RuleCriterion', {
  description: 'A part of a rule that must hold for it to match.',
  values: {
    AGENTS: { value: 'agents', description: 'The agent selector (ids, groups, labels).' },
    ACTIONS: { value: 'actions', description: 'The action globs.' },
    RESOURCES: { value: 'resources', description: 'The resource globs.' },
    WHEN: { value: 'when', description: 'The CEL condition.' },
    LIMIT: { value: 'limit', description: 'The rate limit (the agent already used it up).' },
  } as const,
});

const RuleTraceRef = builder.objectRef<RuleTrace>('RuleTrace').implement({
  description: 'How one rule the engine considered fared for this request.',
  fields: (t) => ({
    ruleId: t.exposeString('ruleId', { description: 'The rule.' }),
    effect: t.expose('effect', { type: PolicyEffectEnum, description: "The rule's effect." }),
    failed: t.field({
      type: RuleCriterionEnum,
      nullable: true,
      description: 'The first criterion that did not hold; null when the rule matched.',
      resolve: (trace) => trace.failed,
    }),
    error: t.string({
      nullable: true,
      description: 'The CEL error, when the condition failed to evaluate.',
      resolve: (trace) => trace.error ?? null,
    }),
  }),
});

export const EvaluationRef = builder.objectRef<Evaluation>('PolicyEvaluation').implement({
  description: 'How the policy decided (or would decide) a request.',
  fields: (t) => ({
    effect: t.expose('effect', { type: PolicyEffectEnum, description: 'The decision: ALLOW, ESCALATE or BLOCK.' }),
    matchedRules: t.exposeStringList('matchedRules', { description: 'Ids of every rule whose criteria matched, in policy order.' }),
    decidingRules: t.exposeStringList('decidingRules', {
      description: 'Ids of the matched rules with the winning effect; empty when the default effect applied.',
    }),
    policyVersion: t.exposeInt('policyVersion', {
      nullable: true,
      description: 'The policy version that decided; null for a draft, or when no policy had been published (everything escalates).',
    }),
    explanation: t.exposeString('explanation', {
      description: 'A human-readable account: which rule decided on which criteria, and why other candidate rules did not apply.',
    }),
    reason: t.exposeString('reason', { nullable: true, description: "The deciding rule's reason for the agent, if any." }),
    review: t.field({
      type: ReviewRequirementRef,
      nullable: true,
      description:
        "For ESCALATE: a summary of every deciding ESCALATE rule's requirement (groups united, shortest timeout, escalation steps pooled); its approvals is the sum over `requirements`, the least number of distinct people needed.",
      resolve: (evaluation) => evaluation.review,
    }),
    requirements: t.field({
      type: [RuleReviewRequirementRef],
      description:
        'For ESCALATE: one requirement per deciding ESCALATE rule, in policy order, each met on its own (a person counts once across them all); one any-reviewer requirement with a null ruleId when the default effect escalated. Empty for ALLOW and BLOCK.',
      // Evaluations stored before per-rule requirements existed lack the field.
      resolve: (evaluation) => evaluation.requirements ?? [],
    }),
    amendable: t.boolean({
      description:
        'For ESCALATE: whether reviewers may approve with changed params (every deciding rule has `allowAmend`); false otherwise.',
      // Evaluations stored before amendments existed lack the field.
      resolve: (evaluation) => evaluation.amendable ?? false,
    }),
    standingAllowed: t.boolean({
      description:
        'For ESCALATE: whether a reviewer may grant a standing approval for requests like this one, and one may approve it (no deciding rule says `review.allowStanding: false`); false otherwise.',
      resolve: (evaluation) => evaluation.effect === 'ESCALATE' && evaluation.standingAllowed !== false,
    }),
    reasonRequiredBy: t.stringList({
      description: 'Matched rules that require the request to carry a reason.',
      resolve: (evaluation) => evaluation.reasonRequiredBy ?? [],
    }),
    validForSeconds: t.int({
      nullable: true,
      description: 'For ALLOW and ESCALATE: how long an approval stays valid (seconds); null for BLOCK.',
      resolve: (evaluation) => evaluation.validForSeconds ?? null,
    }),
    errors: t.field({
      type: [RuleErrorRef],
      description: 'Conditions that failed to evaluate (recorded, never a cause to allow).',
      resolve: (evaluation) => evaluation.errors ?? [],
    }),
    trace: t.field({
      type: [RuleTraceRef],
      description: 'Every rule the engine considered, with the first criterion that failed.',
      resolve: (evaluation) => evaluation.trace ?? [],
    }),
  }),
});

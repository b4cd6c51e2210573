import type { AgentSelector, EscalationStep, PolicyRule, RateLimit, ReviewRequirement, RuleReviewRequirement } from '../../policy/index.js';
import { DEFAULT_REMIND_AT, LimitScope, TimeoutAction } from '../../policy/index.js';
import { builder } from '../builder.js';
import { PolicyEffectEnum } from './enums.js';

export const TimeoutActionEnum = builder.enumType('TimeoutAction', {
  description: 'What happens to an escalated request nobody decided before its deadline.',
  values: {
    [TimeoutAction.EXPIRE]: { description: 'The request ends EXPIRED (the default): distinct from a human rejection.' },
    [TimeoutAction.REJECT]: { description: 'The request ends REJECTED.' },
  } as const,
});

export const LimitScopeEnum = builder.enumType('LimitScope', {
  description: "Which of the agent's earlier requests a rate limit counts.",
  values: {
    [LimitScope.AGENT]: { description: 'Every request of the agent that the rule matched.' },
    [LimitScope.AGENT_ACTION]: { description: 'Those with the same action.' },
    [LimitScope.AGENT_RESOURCE]: { description: 'Those with the same resource.' },
  } as const,
});

export const EscalationStepRef = builder.objectRef<EscalationStep>('EscalationStep').implement({
  description: 'A step of the review ladder: more reviewer groups become eligible after a while.',
  fields: (t) => ({
    afterSeconds: t.exposeInt('afterSeconds', { description: 'Seconds after the request was made.' }),
    groups: t.exposeStringList('groups', { description: 'Groups that become eligible then.' }),
  }),
});

export const ReviewRequirementRef = builder.objectRef<Partial<ReviewRequirement>>('ReviewRequirement').implement({
  description: 'Who must review an escalated request, and how long it may wait.',
  fields: (t) => ({
    groups: t.stringList({ description: 'Reviewer groups that may decide; empty means any reviewer.', resolve: (r) => r.groups ?? [] }),
    approvals: t.int({
      nullable: true,
      description:
        "Distinct people who must approve (default 1). In an evaluation's merged requirement: the sum over its per-rule requirements, the least number of distinct people needed.",
      resolve: (r) => r.approvals ?? null,
    }),
    timeoutSeconds: t.int({
      nullable: true,
      description: 'Seconds the request stays PENDING before it times out (default 3600).',
      resolve: (r) => r.timeoutSeconds ?? null,
    }),
    onTimeout: t.field({
      type: TimeoutActionEnum,
      nullable: true,
      description: 'What a timeout does (default EXPIRE).',
      resolve: (r) => r.onTimeout ?? null,
    }),
    escalation: t.field({
      type: [EscalationStepRef],
      description: 'Groups added as time passes, in order.',
      resolve: (r) => r.escalation ?? [],
    }),
    allowStanding: t.boolean({
      description: "Whether a reviewer's standing approval may stand in for a review (false only where the rule forbids it).",
      resolve: (r) => r.allowStanding !== false,
    }),
    remindAt: t.float({
      description:
        "The share of the timeout after which reviewers are reminded with `action.expiring` (default 0.8; in an evaluation's merged requirement, the earliest of the deciding rules').",
      resolve: (r) => r.remindAt ?? DEFAULT_REMIND_AT,
    }),
  }),
});

export const RuleReviewRequirementRef = builder.objectRef<RuleReviewRequirement>('RuleReviewRequirement').implement({
  description:
    "One rule's review requirement, defaults filled in: met on its own, by distinct people from its groups (a person counts once across all the requirements of a request).",
  fields: (t) => ({
    ruleId: t.string({
      nullable: true,
      description: "The ESCALATE rule that asks for it; null when the policy's default effect escalated (no rule matched).",
      resolve: (r) => r.ruleId,
    }),
    groups: t.exposeStringList('groups', { description: 'Reviewer groups whose approvals count; empty means any reviewer.' }),
    approvals: t.exposeInt('approvals', { description: 'Distinct people from those groups who must approve.' }),
    escalation: t.field({
      type: [EscalationStepRef],
      description: 'Groups added as time passes, sorted by afterSeconds; empty when none.',
      resolve: (r) => r.escalation,
    }),
  }),
});

const AgentSelectorRef = builder.objectRef<AgentSelector>('AgentSelector').implement({
  description: 'Which agents a rule applies to: every criterion given must hold; any listed value within one is enough.',
  fields: (t) => ({
    ids: t.stringList({
      nullable: true,
      description: 'Principal ids; null when the selector does not constrain ids.',
      resolve: (s) => s.ids ?? null,
    }),
    groups: t.stringList({
      nullable: true,
      description: 'The agent must be in one of these groups; null when not constrained.',
      resolve: (s) => s.groups ?? null,
    }),
    labels: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The agent must carry every one of these labels with these values, e.g. `{"team": "payments"}`; null when not constrained.',
      resolve: (s) => s.labels ?? null,
    }),
  }),
});

const RateLimitRef = builder.objectRef<RateLimit>('RateLimit').implement({
  description: 'The rule applies only while the agent made fewer than `count` matching requests in the window.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'How many matching requests the window allows.' }),
    windowSeconds: t.exposeInt('windowSeconds', { description: 'The sliding window, in seconds.' }),
    per: t.expose('per', { type: LimitScopeEnum, description: 'Which earlier requests count.' }),
  }),
});

export const PolicyRuleRef = builder.objectRef<PolicyRule>('PolicyRule').implement({
  description: 'One rule of a policy: when all its criteria hold for a request, it contributes its effect.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Unique within the policy; recorded in every evaluation it matches.' }),
    description: t.string({ nullable: true, description: 'What the rule is for.', resolve: (r) => r.description ?? null }),
    effect: t.expose('effect', { type: PolicyEffectEnum, description: 'What the rule decides when it matches.' }),
    agents: t.field({
      type: AgentSelectorRef,
      nullable: true,
      description: 'Which agents it applies to; null means all.',
      resolve: (r) => r.agents ?? null,
    }),
    actions: t.exposeStringList('actions', { description: 'Globs over the action name, e.g. `deploy.*`.' }),
    resources: t.exposeStringList('resources', { description: 'Globs over the resource, e.g. `prod/**`.' }),
    when: t.string({ nullable: true, description: 'A CEL condition over the request that must be true.', resolve: (r) => r.when ?? null }),
    limit: t.field({ type: RateLimitRef, nullable: true, description: 'A rate limit on the rule.', resolve: (r) => r.limit ?? null }),
    requireReason: t.boolean({
      description: 'Whether requests this rule matches must carry a reason.',
      resolve: (r) => r.requireReason ?? false,
    }),
    validForSeconds: t.int({
      nullable: true,
      description: 'How long an approval from this rule stays valid for the agent to act; null means the default (900).',
      resolve: (r) => r.validForSeconds ?? null,
    }),
    review: t.field({
      type: ReviewRequirementRef,
      nullable: true,
      description: 'For ESCALATE rules: who reviews and for how long.',
      resolve: (r) => r.review ?? null,
    }),
    allowAmend: t.boolean({
      description:
        'For ESCALATE rules: whether reviewers may approve with changed params (the changed request is re-evaluated and must not be blocked).',
      resolve: (r) => r.allowAmend ?? false,
    }),
    reason: t.string({ nullable: true, description: 'Shown to the agent when this rule decides.', resolve: (r) => r.reason ?? null }),
  }),
});

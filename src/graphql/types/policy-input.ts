import type { PolicyDocument, PolicyRule } from '../../policy/index.js';
import { builder } from '../builder.js';
import { PolicyEffectEnum } from './enums.js';
import { LimitScopeEnum, TimeoutActionEnum } from './policy-rule.js';

const EscalationStepInput = builder.inputType('EscalationStepInput', {
  description: 'A step of the review ladder.',
  fields: (t) => ({
    afterSeconds: t.int({ required: true, description: 'Seconds after the request was made; less than `timeoutSeconds`.' }),
    groups: t.stringList({ required: true, description: 'Reviewer groups that become eligible then.' }),
  }),
});

const ReviewRequirementInput = builder.inputType('ReviewRequirementInput', {
  description: 'Who must review requests an ESCALATE rule matches.',
  fields: (t) => ({
    groups: t.stringList({ required: false, description: 'Reviewer groups that may decide; omit or leave empty for any reviewer.' }),
    approvals: t.int({ required: false, description: 'Distinct people who must approve, 1-20 (default 1).' }),
    timeoutSeconds: t.int({ required: false, description: 'Seconds before the request times out, up to 30 days (default 3600).' }),
    onTimeout: t.field({ type: TimeoutActionEnum, required: false, description: 'What a timeout does (default EXPIRE).' }),
    escalation: t.field({ type: [EscalationStepInput], required: false, description: 'Groups added as time passes.' }),
    allowStanding: t.boolean({
      required: false,
      description: "Whether a reviewer's standing approval may stand in for a review of these requests (default true).",
    }),
    remindAt: t.float({
      required: false,
      description:
        'The share of the timeout after which reviewers are reminded with `action.expiring`, between 0 and 1 exclusive (default 0.8).',
    }),
  }),
});

const AgentSelectorInput = builder.inputType('AgentSelectorInput', {
  description: 'Which agents a rule applies to; every criterion given must hold.',
  fields: (t) => ({
    ids: t.stringList({ required: false, description: 'Principal ids; omit (or null) to not constrain ids. An empty list is refused.' }),
    groups: t.stringList({ required: false, description: 'The agent must be in one of these groups; omit to not constrain groups.' }),
    labels: t.field({
      type: 'JSON',
      required: false,
      description: 'Labels the agent must carry, e.g. `{"team": "payments"}`; omit to not constrain labels.',
    }),
  }),
});

const RateLimitInput = builder.inputType('RateLimitInput', {
  description: 'Applies the rule only below a request rate, e.g. "auto-approve at most 3 prod deploys per agent per hour".',
  fields: (t) => ({
    count: t.int({ required: true, description: 'Matching requests allowed in the window, 1-100000.' }),
    windowSeconds: t.int({ required: true, description: 'The sliding window in seconds, up to 30 days.' }),
    per: t.field({ type: LimitScopeEnum, required: false, description: 'Which earlier requests count (default AGENT).' }),
  }),
});

export const PolicyRuleInput = builder.inputType('PolicyRuleInput', {
  description: 'One rule of a policy.',
  fields: (t) => ({
    id: t.string({ required: true, description: 'Unique id: letters, digits and `_ . : -`, at most 100 characters.' }),
    description: t.string({ required: false, description: 'What the rule is for.' }),
    effect: t.field({ type: PolicyEffectEnum, required: true, description: 'What the rule decides when it matches.' }),
    agents: t.field({ type: AgentSelectorInput, required: false, description: 'Which agents it applies to; omit for all.' }),
    actions: t.stringList({ required: true, description: 'Globs over the action name; at least one (`*` matches every action).' }),
    resources: t.stringList({ required: true, description: 'Globs over the resource; at least one (`**` matches every resource).' }),
    when: t.string({
      required: false,
      description:
        'A CEL condition that must be true, over `agent`, `onBehalfOf`, `action`, `resource`, `params`, `reason`, `context` and `now`, e.g. `params.replicas > 10`. Checked when published.',
    }),
    limit: t.field({ type: RateLimitInput, required: false, description: 'A rate limit on the rule.' }),
    requireReason: t.boolean({ required: false, description: 'Requests this rule matches must carry a reason (default false).' }),
    validForSeconds: t.int({
      required: false,
      description: 'ALLOW and ESCALATE rules: seconds an approval stays valid for the agent to act and report (1 to 604800; default 900).',
    }),
    review: t.field({ type: ReviewRequirementInput, required: false, description: 'Only for ESCALATE rules.' }),
    allowAmend: t.boolean({
      required: false,
      description:
        'Only for ESCALATE rules: reviewers may approve with changed params; the changed request is re-evaluated and must not be blocked (default false).',
    }),
    reason: t.string({ required: false, description: 'Shown to the agent when this rule decides.' }),
  }),
});

type RuleInputShape = typeof PolicyRuleInput.$inferInput;

/** GraphQL input → the policy document the engine validates (unset fields dropped). */
export function toPolicyDocument(
  rules: RuleInputShape[],
  defaultEffect: PolicyDocument['defaultEffect'] | null | undefined,
): PolicyDocument {
  return {
    defaultEffect: defaultEffect ?? 'ESCALATE',
    rules: rules.map((rule): PolicyRule => ({
      id: rule.id,
      description: rule.description ?? undefined,
      effect: rule.effect,
      agents: rule.agents
        ? {
            ids: rule.agents.ids ?? undefined,
            groups: rule.agents.groups ?? undefined,
            labels: (rule.agents.labels as Record<string, string> | null | undefined) ?? undefined,
          }
        : undefined,
      actions: rule.actions,
      resources: rule.resources,
      when: rule.when ?? undefined,
      limit: rule.limit ? { count: rule.limit.count, windowSeconds: rule.limit.windowSeconds, per: rule.limit.per ?? 'AGENT' } : undefined,
      requireReason: rule.requireReason ?? undefined,
      validForSeconds: rule.validForSeconds ?? undefined,
      allowAmend: rule.allowAmend ?? undefined,
      reason: rule.reason ?? undefined,
      review: rule.review
        ? {
            groups: rule.review.groups ?? undefined,
            approvals: rule.review.approvals ?? undefined,
            timeoutSeconds: rule.review.timeoutSeconds ?? undefined,
            onTimeout: rule.review.onTimeout ?? undefined,
            escalation: rule.review.escalation ?? undefined,
            allowStanding: rule.review.allowStanding ?? undefined,
            remindAt: rule.review.remindAt ?? undefined,
          }
        : undefined,
    })),
  };
}

import { Permission } from '../../auth/permissions.js';
import { replayPolicy, type DecisionChange, type ReplayResult, type ReplaySample } from '../../policies/replay.js';
import { simulateAction } from '../../policies/simulate.js';
import { builder } from '../builder.js';
import { ActionRequestRef } from './action-request.js';
import { PolicyEffectEnum } from './enums.js';
import { EvaluationRef } from './evaluation.js';
import { PolicyRuleInput, toPolicyDocument } from './policy-input.js';
import { viewerOf } from './viewer.js';

const SimulateActionInput = builder.inputType('SimulateActionInput', {
  description: 'A request to evaluate without making it.',
  fields: (t) => ({
    action: t.string({ required: true, description: 'The action, as in requestAction.' }),
    resource: t.string({ required: true, description: 'The resource, as in requestAction.' }),
    params: t.field({ type: 'JSON', required: false, description: 'Parameters, as in requestAction.' }),
    reason: t.string({ required: false, description: 'The reason, as in requestAction.' }),
    context: t.field({ type: 'JSON', required: false, description: 'Context labels, as in requestAction.' }),
    onBehalfOf: t.id({ required: false, description: 'The human the agent would act for.' }),
    agentId: t.id({ required: false, description: 'Evaluate as this agent (ADMIN only); default: the calling agent.' }),
    now: t.field({ type: 'DateTime', required: false, description: 'Evaluate at this instant (for time-based conditions); default: now.' }),
    rules: t.field({
      type: [PolicyRuleInput],
      required: false,
      description: 'A draft policy to evaluate against instead of the active one (ADMIN only).',
    }),
    defaultEffect: t.field({ type: PolicyEffectEnum, required: false, description: "The draft's default effect (default ESCALATE)." }),
  }),
});

builder.queryField('simulateAction', (t) =>
  t.field({
    type: EvaluationRef,
    description:
      'A dry run: how the active policy, or a draft, would decide a request (rate limits see real recent requests). Writes nothing. An AGENT simulates as itself; an ADMIN as any agent.',
    authScopes: { can: Permission.SimulateOwnAction },
    args: { input: t.arg({ type: SimulateActionInput, required: true, description: 'The request to evaluate.' }) },
    resolve: (_root, { input }, ctx) =>
      simulateAction(ctx.deps, viewerOf(ctx), {
        action: input.action,
        resource: input.resource,
        params: input.params as Record<string, unknown> | null | undefined,
        reason: input.reason,
        context: input.context as Record<string, string> | null | undefined,
        onBehalfOf: input.onBehalfOf == null ? null : String(input.onBehalfOf),
        agentId: input.agentId == null ? null : String(input.agentId),
        now: input.now,
        draft: input.rules ? toPolicyDocument(input.rules, input.defaultEffect) : null,
      }),
  }),
);

const DecisionChangeRef = builder.objectRef<DecisionChange>('DecisionChange').implement({
  description: 'How many replayed requests the draft decides differently, for one pair of effects.',
  fields: (t) => ({
    from: t.expose('from', { type: PolicyEffectEnum, description: 'The effect recorded when the request was made.' }),
    to: t.expose('to', { type: PolicyEffectEnum, description: 'The effect under the draft.' }),
    count: t.exposeInt('count', { description: 'How many requests change this way.' }),
  }),
});

const ReplaySampleRef = builder.objectRef<ReplaySample>('ReplaySample').implement({
  description: 'A recorded request the draft decides differently.',
  fields: (t) => ({
    request: t.field({ type: ActionRequestRef, description: 'The recorded request.', resolve: (s) => s.request }),
    from: t.expose('from', { type: PolicyEffectEnum, description: 'The effect recorded.' }),
    to: t.expose('to', { type: PolicyEffectEnum, description: 'The effect under the draft.' }),
    matchedRules: t.exposeStringList('matchedRules', { description: 'Draft rules that matched.' }),
    explanation: t.exposeString('explanation', { description: "The draft's explanation of its decision." }),
  }),
});

const PolicyReplayRef = builder.objectRef<ReplayResult>('PolicyReplay').implement({
  description: 'What a draft policy would have changed over recorded requests.',
  fields: (t) => ({
    evaluated: t.exposeInt('evaluated', { description: 'Recorded requests replayed, oldest first.' }),
    truncated: t.exposeBoolean('truncated', { description: 'Whether more requests fell in the time range than `limit` allowed.' }),
    changed: t.exposeInt('changed', { description: 'Requests the draft decides differently.' }),
    changes: t.field({
      type: [DecisionChangeRef],
      description: 'Changed decisions by pair of effects, most frequent first.',
      resolve: (r) => r.changes,
    }),
    refusedForMissingReason: t.exposeInt('refusedForMissingReason', {
      description: 'Replayed requests without a reason that the draft would refuse, because a matching rule has `requireReason`.',
    }),
    escalationsBefore: t.exposeInt('escalationsBefore', { description: 'Requests that went to reviewers, as recorded.' }),
    escalationsAfter: t.exposeInt('escalationsAfter', { description: 'Requests that would go to reviewers under the draft.' }),
    reviewerLoadChange: t.int({
      description: 'Estimated change in reviewer load: escalations under the draft minus escalations recorded.',
      resolve: (r) => r.escalationsAfter - r.escalationsBefore,
    }),
    approvalsNeededBefore: t.exposeInt('approvalsNeededBefore', { description: 'Approvals reviewers had to give, as recorded.' }),
    approvalsNeededAfter: t.exposeInt('approvalsNeededAfter', { description: 'Approvals reviewers would have to give under the draft.' }),
    samples: t.field({ type: [ReplaySampleRef], description: 'Up to 20 changed requests, oldest first.', resolve: (r) => r.samples }),
  }),
});

const ReplayPolicyInput = builder.inputType('ReplayPolicyInput', {
  description: 'A draft policy and the recorded requests to replay it against.',
  fields: (t) => ({
    rules: t.field({ type: [PolicyRuleInput], required: true, description: 'The draft rules.' }),
    defaultEffect: t.field({ type: PolicyEffectEnum, required: false, description: "The draft's default effect (default ESCALATE)." }),
    since: t.field({ type: 'DateTime', required: false, description: 'Only requests made at or after this instant.' }),
    until: t.field({ type: 'DateTime', required: false, description: 'Only requests made before this instant.' }),
    limit: t.int({
      required: false,
      description:
        'At most this many requests, oldest first (default 10000, at most 100000). Rate limits count from the first replayed request.',
    }),
  }),
});

builder.queryField('replayPolicy', (t) =>
  t.field({
    type: PolicyReplayRef,
    description:
      'Evaluates a draft against the requests Greenlight really recorded and reports which decisions change and how reviewer load moves. Writes nothing. ADMIN or AUDITOR.',
    authScopes: { can: Permission.ReadPolicy },
    args: { input: t.arg({ type: ReplayPolicyInput, required: true, description: 'The draft and the replay window.' }) },
    resolve: (_root, { input }, ctx) =>
      replayPolicy(ctx.deps, viewerOf(ctx), {
        ...toPolicyDocument(input.rules, input.defaultEffect),
        since: input.since,
        until: input.until,
        limit: input.limit,
      }),
  }),
);

import { InvalidInputError, InvalidPolicyInputError } from '../../errors.js';
import type { PolicyRule, ReviewRequirement } from '../../policy/index.js';
import { publishPolicy } from '../../policies/publish.js';
import { getActivePolicyVersion } from '../../policies/store.js';
import type { PolicyVersionRow } from '../../db/schema.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload, type ErrorShape } from '../errors.js';
import { PolicyEffectEnum } from './enums.js';
import { PrincipalRef } from './principal.js';
import { viewerOf } from './viewer.js';

export const ReviewRequirementRef = builder.objectRef<Partial<ReviewRequirement>>('ReviewRequirement').implement({
  description: 'Who must review an escalated request, and how long it may wait.',
  fields: (t) => ({
    groups: t.stringList({ description: 'Reviewer groups that may decide; empty means any reviewer.', resolve: (r) => r.groups ?? [] }),
    approvals: t.int({ nullable: true, description: 'Distinct people who must approve (default 1).', resolve: (r) => r.approvals ?? null }),
    timeoutSeconds: t.int({
      nullable: true,
      description: 'Seconds the request stays PENDING before it expires (default 3600).',
      resolve: (r) => r.timeoutSeconds ?? null,
    }),
  }),
});

const PolicyRuleRef = builder.objectRef<PolicyRule>('PolicyRule').implement({
  description: 'One rule of a policy: when its criteria match a request, it contributes its effect.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Unique within the policy; recorded in every evaluation it matches.' }),
    description: t.string({ nullable: true, description: 'What the rule is for.', resolve: (r) => r.description ?? null }),
    effect: t.expose('effect', { type: PolicyEffectEnum, description: 'What the rule decides when it matches.' }),
    actions: t.exposeStringList('actions', { description: 'Globs over the action name, e.g. `deploy.*`.' }),
    resources: t.exposeStringList('resources', { description: 'Globs over the resource, e.g. `prod/**`.' }),
    review: t.field({
      type: ReviewRequirementRef,
      nullable: true,
      description: 'For ESCALATE rules: who reviews and for how long.',
      resolve: (r) => r.review ?? null,
    }),
    reason: t.string({ nullable: true, description: 'Shown to the agent when this rule decides.', resolve: (r) => r.reason ?? null }),
  }),
});

export const PolicyVersionRef = builder.objectRef<PolicyVersionRow>('PolicyVersion').implement({
  description: 'An immutable published version of the policy.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier of this version.' }),
    version: t.exposeInt('version', { description: 'Sequential version number, starting at 1.' }),
    rules: t.field({ type: [PolicyRuleRef], description: 'The rules, in the order they were published.', resolve: (p) => p.rules }),
    defaultEffect: t.expose('defaultEffect', { type: PolicyEffectEnum, description: 'Applied when no rule matches.' }),
    contentHash: t.exposeString('contentHash', { description: 'SHA-256 of the canonical JSON (RFC 8785) of the rules and default effect.' }),
    active: t.exposeBoolean('active', { description: 'Whether this version decides new requests now.' }),
    author: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'Who published it.',
      resolve: (p, _args, ctx) => (p.authorId ? ctx.loaders.principal.load(p.authorId) : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was published.' }),
  }),
});

builder.queryField('activePolicy', (t) =>
  t.field({
    type: PolicyVersionRef,
    nullable: true,
    description: 'The policy version deciding new requests; null until one is published (then every request escalates).',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => getActivePolicyVersion(ctx.deps.db),
  }),
);

const ReviewRequirementInput = builder.inputType('ReviewRequirementInput', {
  description: 'Who must review requests an ESCALATE rule matches.',
  fields: (t) => ({
    groups: t.stringList({ required: false, description: 'Reviewer groups that may decide; omit or leave empty for any reviewer.' }),
    approvals: t.int({ required: false, description: 'Distinct people who must approve, 1-20 (default 1).' }),
    timeoutSeconds: t.int({ required: false, description: 'Seconds before the request expires, up to 30 days (default 3600).' }),
  }),
});

const PolicyRuleInput = builder.inputType('PolicyRuleInput', {
  description: 'One rule of a policy being published.',
  fields: (t) => ({
    id: t.string({ required: true, description: 'Unique id: letters, digits and `_ . : -`, at most 100 characters.' }),
    description: t.string({ required: false, description: 'What the rule is for.' }),
    effect: t.field({ type: PolicyEffectEnum, required: true, description: 'What the rule decides when it matches.' }),
    actions: t.stringList({ required: true, description: 'Globs over the action name; at least one (`*` matches every action).' }),
    resources: t.stringList({ required: true, description: 'Globs over the resource; at least one (`**` matches every resource).' }),
    review: t.field({ type: ReviewRequirementInput, required: false, description: 'Only for ESCALATE rules.' }),
    reason: t.string({ required: false, description: 'Shown to the agent when this rule decides.' }),
  }),
});

const PublishPolicyInput = builder.inputType('PublishPolicyInput', {
  description: 'A complete policy: it replaces the active one.',
  fields: (t) => ({
    rules: t.field({ type: [PolicyRuleInput], required: true, description: 'The rules; order is kept for display.' }),
    defaultEffect: t.field({
      type: PolicyEffectEnum,
      required: false,
      description: 'Applied when no rule matches; ESCALATE when omitted (fail closed).',
    }),
  }),
});

const publishPolicyErrors = mutationErrors([InvalidPolicyInputError, InvalidInputError]);

const PublishPolicyPayload = builder.objectRef<{ policy?: PolicyVersionRow; errors: ErrorShape[] }>('PublishPolicyPayload').implement({
  description: 'The published version, or why nothing was published.',
  fields: (t) => ({
    policy: t.field({ type: PolicyVersionRef, nullable: true, description: 'The new active version; null on error.', resolve: (p) => p.policy ?? null }),
    errors: t.field({ ...publishPolicyErrors.field, resolve: (p) => p.errors }),
  }),
});

builder.mutationField('publishPolicy', (t) =>
  t.field({
    type: PublishPolicyPayload,
    description: 'Validates the policy and publishes it as a new immutable version that decides every request from now on. ADMIN only.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: PublishPolicyInput, required: true, description: 'The policy to publish.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(publishPolicyErrors, () =>
        publishPolicy(ctx.deps, viewerOf(ctx).id, {
          defaultEffect: input.defaultEffect ?? 'ESCALATE',
          rules: input.rules.map((rule) => ({
            id: rule.id,
            description: rule.description ?? undefined,
            effect: rule.effect,
            actions: rule.actions,
            resources: rule.resources,
            reason: rule.reason ?? undefined,
            review: rule.review
              ? {
                  groups: rule.review.groups ?? undefined,
                  approvals: rule.review.approvals ?? undefined,
                  timeoutSeconds: rule.review.timeoutSeconds ?? undefined,
                }
              : undefined,
          })),
        }),
      ),
  }),
);

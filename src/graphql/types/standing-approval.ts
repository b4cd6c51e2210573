import { listStandingApprovals, MAX_STANDING_SECONDS, revokeStandingApproval } from '../../approvals/standing.js';
import type { StandingApprovalRow } from '../../db/schema.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { entityPayload } from '../payloads.js';
import { PrincipalRef } from './principal.js';
import { viewerOf } from './viewer.js';

export const StandingApprovalInput = builder.inputType('StandingApprovalInput', {
  description:
    'With an approval: approve requests like this one for a while, as your review of each (quorum, groups, separation of duties and BLOCK rules still apply). Where the policy allows it (`evaluation.standingAllowed`).',
  fields: (t) => ({
    resources: t.string({
      required: false,
      description:
        "A resource glob covering this request's resource (at most 256 characters); omit for this exact resource, the narrowest.",
    }),
    sameParams: t.boolean({ required: false, description: 'Only requests with the same params as this one (default false).' }),
    forSeconds: t.int({ required: true, description: `How long it lasts: 60 to ${MAX_STANDING_SECONDS} seconds (24 h).` }),
  }),
});

export const StandingApprovalRef = builder.objectRef<StandingApprovalRow>('StandingApproval').implement({
  description:
    "A reviewer's approval of requests like one they approved, for a while: the same agent and action, a resource (or glob), optionally the same params.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier; `revokeStandingApproval` takes it.' }),
    reviewer: t.field({
      type: PrincipalRef,
      description: 'Whose approval it stands in for.',
      resolve: async (s, _args, ctx) => (await ctx.loaders.principal.load(s.reviewerId))!,
    }),
    agent: t.field({
      type: PrincipalRef,
      description: 'The agent it covers.',
      resolve: async (s, _args, ctx) => (await ctx.loaders.principal.load(s.agentId))!,
    }),
    onBehalfOf: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'The human the covered requests must be made for; null when only requests made for nobody are covered.',
      resolve: (s, _args, ctx) => (s.onBehalfOfId ? ctx.loaders.principal.load(s.onBehalfOfId) : null),
    }),
    ruleIds: t.exposeStringList('ruleIds', {
      description:
        'The rules that escalated the request it was granted on: it covers only requests whose every escalating rule is among these (empty: only requests the default effect escalated).',
    }),
    action: t.exposeString('action', { description: 'The action it covers, exactly.' }),
    resource: t.exposeString('resource', { nullable: true, description: 'The exact resource it covers; null when it covers a glob.' }),
    resourceGlob: t.exposeString('resourceGlob', {
      nullable: true,
      description: 'The resource glob it covers; null when it covers one exact resource.',
    }),
    sameParams: t.boolean({
      description: 'Only requests with the same params as the one it was granted on.',
      resolve: (s) => s.paramsSha256 !== null,
    }),
    sourceRequestId: t.exposeID('sourceRequestId', { description: 'The request whose approval granted it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was granted.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops covering requests.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked, if it was.' }),
    revokedBy: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'Who revoked it: its reviewer or an ADMIN.',
      resolve: (s, _args, ctx) => (s.revokedById ? ctx.loaders.principal.load(s.revokedById) : null),
    }),
  }),
});

builder.queryField('standingApprovals', (t) =>
  t.field({
    type: [StandingApprovalRef],
    description: 'Your standing approvals (every one, for an ADMIN), newest first, at most 200: live ones unless `includeEnded`.',
    authScopes: { authenticated: true },
    args: { includeEnded: t.arg.boolean({ required: false, description: 'Also revoked and expired ones.' }) },
    resolve: (_root, { includeEnded }, ctx) => listStandingApprovals(ctx.deps.db, viewerOf(ctx), includeEnded ?? false),
  }),
);

const RevokeStandingApprovalInput = builder.inputType('RevokeStandingApprovalInput', {
  description: 'Which standing approval to end, and why.',
  fields: (t) => ({
    standingApprovalId: t.id({ required: true, description: 'One of yours (any, for an ADMIN).' }),
    reason: t.string({ required: false, description: 'Why, for the audit log (at most 2000 characters).' }),
  }),
});

const revokeErrors = mutationErrors([NotFoundError, ConflictError, InvalidInputError]);

const RevokeStandingApprovalPayload = entityPayload('RevokeStandingApprovalPayload', {
  description: 'The revoked standing approval, or why it could not be revoked.',
  key: 'standingApproval',
  type: () => StandingApprovalRef,
  fieldDescription: 'The standing approval, now revoked; null on error.',
  errors: revokeErrors,
});

builder.mutationField('revokeStandingApproval', (t) =>
  t.field({
    type: RevokeStandingApprovalPayload,
    description: 'Ends a standing approval before it expires: by its reviewer or an ADMIN; audited (STANDING_APPROVAL_REVOKED).',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: RevokeStandingApprovalInput, required: true, description: 'The standing approval.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(revokeErrors, async () => ({
        standingApproval: await revokeStandingApproval(ctx.deps, viewerOf(ctx), {
          ...input,
          standingApprovalId: String(input.standingApprovalId),
        }),
      })),
  }),
);

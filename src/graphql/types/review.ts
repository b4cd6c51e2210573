import { decideAction } from '../../approvals/decide-action.js';
import type { ReviewRow } from '../../db/schema.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError, SeparationOfDutiesError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { shownValue } from '../redaction.js';
import { VerdictEnum } from './enums.js';
import { PrincipalRef } from './principal.js';
import { StandingApprovalInput } from './standing-approval.js';
import { requestPayload } from './request-payload.js';
import { viewerOf } from './viewer.js';

export const ReviewRef = builder.objectRef<ReviewRow>('Review').implement({
  description: "One reviewer's verdict on a request.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    reviewer: t.field({
      type: PrincipalRef,
      description: 'The person who reviewed.',
      resolve: async (r, _args, ctx) => (await ctx.loaders.principal.load(r.reviewerId))!,
    }),
    verdict: t.expose('verdict', { type: VerdictEnum, description: 'APPROVE or REJECT.' }),
    comment: t.exposeString('comment', { nullable: true, description: "The reviewer's comment, delivered to the agent." }),
    reviewerGroups: t.exposeStringList('reviewerGroups', {
      description: "The reviewer's groups when reviewing: quorum is judged on them.",
    }),
    revision: t.exposeInt('revision', { description: 'The request revision reviewed; approvals of an earlier revision no longer count.' }),
    amendedParams: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'When the reviewer approved with changes: the parameters approved instead (this review started a new revision). Redacted values read as markers, except to ADMIN.',
      resolve: async (r, _args, ctx) =>
        r.amendedParams ? shownValue(ctx, r.amendedParams, 'params', await ctx.loaders.redactPaths.load(r.requestId)) : null,
    }),
    standingApprovalId: t.exposeID('standingApprovalId', {
      nullable: true,
      description: "Set when the reviewer's standing approval gave this review (not the reviewer by hand).",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the review was submitted.' }),
  }),
});

const DecideActionInput = builder.inputType('DecideActionInput', {
  description: "A reviewer's decision on a pending request.",
  fields: (t) => ({
    requestId: t.id({ required: true, description: 'The pending request.' }),
    verdict: t.field({ type: VerdictEnum, required: true, description: 'APPROVE or REJECT.' }),
    comment: t.string({ required: false, description: 'Why; delivered to the agent. At most 2000 characters.' }),
    params: t.field({
      type: 'JSON',
      required: false,
      description:
        "Approve with changes (only with APPROVE, only where the rule says `allowAmend`): the parameters you approve instead of the agent's. The changed request is evaluated again and refused if the policy would block it; earlier approvals stop counting.",
    }),
    standing: t.field({
      type: StandingApprovalInput,
      required: false,
      description: 'Only with APPROVE: also approve requests like this one for a while (a standing approval).',
    }),
    revision: t.int({
      required: false,
      description:
        "The request's `revision` when you read it: the decision is refused with a ConflictError if another reviewer changed the params since, so you never approve what you did not see. Omit to decide whatever revision is current.",
    }),
  }),
});

const decideActionErrors = mutationErrors([NotFoundError, SeparationOfDutiesError, NotAllowedError, ConflictError, InvalidInputError]);

const DecideActionPayload = requestPayload(
  'DecideActionPayload',
  'The request after the review, or why the review was refused.',
  'APPROVED or REJECTED once settled; still PENDING while more approvals are needed. Null on error.',
  decideActionErrors,
);

builder.mutationField('decideAction', (t) =>
  t.field({
    type: DecideActionPayload,
    description:
      'Approves or rejects a pending request. REVIEWER only, and only where a requirement of the request needs one of your groups; one rejection rejects, and the request is APPROVED once every requirement has its approvals (a person counts once). Parties to the request (its agent, any agent, its owner, the human it acts for) get a SeparationOfDutiesError and the attempt is audited.',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: DecideActionInput, required: true, description: 'The decision.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(decideActionErrors, async () => ({
        request: await decideAction(ctx.deps, viewerOf(ctx), {
          ...input,
          requestId: String(input.requestId),
          params: input.params as Record<string, unknown> | null | undefined,
        }),
      })),
  }),
);

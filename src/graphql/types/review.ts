import { decideAction } from '../../approvals/decide-action.js';
import type { ReviewRow } from '../../db/schema.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { requestPayload } from './request-payload.js';
import { VerdictEnum } from './enums.js';
import { PrincipalRef } from './principal.js';
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
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the review was submitted.' }),
  }),
});

const DecideActionInput = builder.inputType('DecideActionInput', {
  description: "A reviewer's decision on a pending request.",
  fields: (t) => ({
    requestId: t.id({ required: true, description: 'The pending request.' }),
    verdict: t.field({ type: VerdictEnum, required: true, description: 'APPROVE or REJECT.' }),
    comment: t.string({ required: false, description: 'Why; delivered to the agent. At most 2000 characters.' }),
  }),
});

const decideActionErrors = mutationErrors([NotFoundError, NotAllowedError, ConflictError, InvalidInputError]);

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
      'Approves or rejects a pending request. REVIEWER only, and only where the request needs one of your groups; one rejection rejects.',
    authScopes: { reviewer: true },
    args: { input: t.arg({ type: DecideActionInput, required: true, description: 'The decision.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(decideActionErrors, async () => ({
        request: await decideAction(ctx.deps, viewerOf(ctx), { ...input, requestId: String(input.requestId) }),
      })),
  }),
);

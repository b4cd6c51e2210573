import { decideActions, MAX_BATCH_DECISIONS, type BatchDecisionResult } from '../../approvals/decide-actions.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError, SeparationOfDutiesError } from '../../errors.js';
import { builder } from '../builder.js';
import { ErrorInterface, mutationErrors, toPayload, toShape } from '../errors.js';
import { ActionRequestRef } from './action-request.js';
import { VerdictEnum } from './enums.js';
import { viewerOf } from './viewer.js';

const BatchDecisionInput = builder.inputType('BatchDecisionInput', {
  description: 'One decision of a batch: no changed params and no standing approval, only a verdict and a comment.',
  fields: (t) => ({
    requestId: t.id({ required: true, description: 'The pending request.' }),
    verdict: t.field({ type: VerdictEnum, required: true, description: 'APPROVE or REJECT.' }),
    comment: t.string({ required: false, description: 'Why; delivered to the agent. At most 2000 characters.' }),
    revision: t.int({
      required: false,
      description:
        "The request's `revision` when you read it: the decision is refused with a ConflictError if another reviewer changed the params since, so you never approve what you did not see. Omit to decide whatever revision is current.",
    }),
  }),
});

const DecideActionsInput = builder.inputType('DecideActionsInput', {
  description: 'Several decisions at once, each made on its own.',
  fields: (t) => ({
    decisions: t.field({
      type: [BatchDecisionInput],
      required: true,
      description: `1 to ${MAX_BATCH_DECISIONS} decisions, each on a different request.`,
    }),
  }),
});

const itemErrors = mutationErrors([NotFoundError, SeparationOfDutiesError, NotAllowedError, ConflictError, InvalidInputError]);

const BatchDecisionResultRef = builder.objectRef<BatchDecisionResult>('BatchDecisionResult').implement({
  description: 'What became of one decision of a batch.',
  fields: (t) => ({
    requestId: t.exposeID('requestId', { description: 'The request the decision was about.' }),
    request: t.field({
      type: ActionRequestRef,
      nullable: true,
      description: 'The request after the decision (APPROVED, REJECTED, or PENDING while more approvals are needed); null when refused.',
      resolve: (result) => result.request,
    }),
    errors: t.field({
      type: [ErrorInterface],
      description: `Why this decision was refused (the others stand); empty when it was made. Possible types: ${itemErrors.types.map((type) => type.name).join(', ')}.`,
      resolve: (result) => (result.error ? [toShape(result.error)] : []),
    }),
  }),
});

const batchErrors = mutationErrors([InvalidInputError]);

const DecideActionsPayload = builder
  .objectRef<{ results?: BatchDecisionResult[]; errors: ReturnType<typeof toShape>[] }>('DecideActionsPayload')
  .implement({
    description: 'Each decision of the batch, in order, or why the batch as a whole was refused.',
    fields: (t) => ({
      results: t.field({
        type: [BatchDecisionResultRef],
        description: 'One result per decision, in the order given; empty when the batch was refused.',
        resolve: (payload) => payload.results ?? [],
      }),
      errors: t.field({ ...batchErrors.field, resolve: (payload) => payload.errors }),
    }),
  });

builder.mutationField('decideActions', (t) =>
  t.field({
    type: DecideActionsPayload,
    description:
      'Decides several pending requests at once, each exactly as `decideAction` would and on its own: one refusal (decided elsewhere meanwhile, not yours to review) neither undoes nor stops the others. A batch never changes params nor grants a standing approval. A malformed batch (empty, too long, a request named twice) is refused whole with nothing written.',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: DecideActionsInput, required: true, description: 'The decisions.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(batchErrors, async () => ({
        results: await decideActions(ctx.deps, viewerOf(ctx), {
          decisions: input.decisions.map((decision) => ({ ...decision, requestId: String(decision.requestId) })),
        }),
      })),
  }),
);

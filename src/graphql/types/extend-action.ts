import { EXTENSION_LIMITS, extendActionRequest } from '../../approvals/extend-action.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError, SeparationOfDutiesError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { requestPayload } from './request-payload.js';
import { viewerOf } from './viewer.js';

const ExtendActionRequestInput = builder.inputType('ExtendActionRequestInput', {
  description: 'More time for reviewers to decide a pending request.',
  fields: (t) => ({
    requestId: t.id({ required: true, description: 'A PENDING request you may review.' }),
    bySeconds: t.int({ required: true, description: `Seconds to add to the deadline: 1 to ${EXTENSION_LIMITS.maxSeconds}.` }),
    reason: t.string({ required: false, description: 'Why, for the agent and the audit log (at most 2000 characters).' }),
  }),
});

const extendActionRequestErrors = mutationErrors([
  NotFoundError,
  SeparationOfDutiesError,
  NotAllowedError,
  ConflictError,
  InvalidInputError,
]);

const ExtendActionRequestPayload = requestPayload(
  'ExtendActionRequestPayload',
  'The request with its new deadline, or why the extension was refused.',
  'The request with the later `expiresAt`; null on error.',
  extendActionRequestErrors,
);

builder.mutationField('extendActionRequest', (t) =>
  t.field({
    type: ExtendActionRequestPayload,
    description: `Moves a PENDING request's deadline later (database time), at most ${EXTENSION_LIMITS.maxExtensions} times per request; audited as ACTION_EXTENDED. Only a reviewer who may decide the request.`,
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: ExtendActionRequestInput, required: true, description: 'The request and the extra time.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(extendActionRequestErrors, async () => ({
        request: await extendActionRequest(ctx.deps, viewerOf(ctx), { ...input, requestId: String(input.requestId) }),
      })),
  }),
);

import { overrideDecision } from '../../approvals/override-decision.js';
import { Permission } from '../../auth/permissions.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError, SeparationOfDutiesError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { VerdictEnum } from './enums.js';
import { requestPayload } from './request-payload.js';
import { viewerOf } from './viewer.js';

const OverrideDecisionInput = builder.inputType('OverrideDecisionInput', {
  description: "An administrator's break-glass decision on a pending request.",
  fields: (t) => ({
    requestId: t.id({ required: true, description: 'The PENDING request.' }),
    verdict: t.field({ type: VerdictEnum, required: true, description: 'APPROVE or REJECT.' }),
    reason: t.string({
      required: true,
      description: 'Why the review rules are set aside (required, at most 2000 characters); delivered to the agent.',
    }),
  }),
});

const overrideDecisionErrors = mutationErrors([NotFoundError, SeparationOfDutiesError, NotAllowedError, ConflictError, InvalidInputError]);

const OverrideDecisionPayload = requestPayload(
  'OverrideDecisionPayload',
  'The request as the administrator decided it, or why the override was refused.',
  'The request, APPROVED or REJECTED with `decidedBy: ADMIN` and `overridden: true`; null on error.',
  overrideDecisionErrors,
);

builder.mutationField('overrideDecision', (t) =>
  t.field({
    type: OverrideDecisionPayload,
    description:
      'Break-glass: decides a PENDING request outside the review rules (quorum, groups). Needs a reason, and never approves a request the admin is a party to (SeparationOfDutiesError); the request is flagged `overridden` and the audit log records DECISION_OVERRIDDEN before the decision. Human ADMIN only.',
    authScopes: { can: Permission.OverrideDecision },
    args: { input: t.arg({ type: OverrideDecisionInput, required: true, description: 'The decision and its reason.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(overrideDecisionErrors, async () => ({
        request: await overrideDecision(ctx.deps, viewerOf(ctx), { ...input, requestId: String(input.requestId) }),
      })),
  }),
);

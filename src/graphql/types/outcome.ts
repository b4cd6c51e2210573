import { reportActionOutcome } from '../../approvals/report-outcome.js';
import { Permission } from '../../auth/permissions.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { ActionOutcomeEnum } from './enums.js';
import { requestPayload } from './request-payload.js';
import { viewerOf } from './viewer.js';

const ReportActionOutcomeInput = builder.inputType('ReportActionOutcomeInput', {
  description: 'What happened when the agent performed an approved action.',
  fields: (t) => ({
    requestId: t.id({ required: true, description: 'One of your own APPROVED requests, within its `validUntil`.' }),
    outcome: t.field({ type: ActionOutcomeEnum, required: true, description: 'SUCCEEDED or FAILED.' }),
    detail: t.string({
      required: false,
      description: 'Details for auditors, e.g. an error message or a deploy id (at most 4000 characters).',
    }),
  }),
});

const reportActionOutcomeErrors = mutationErrors([NotFoundError, ConflictError, InvalidInputError]);

const ReportActionOutcomePayload = requestPayload(
  'ReportActionOutcomePayload',
  'The request with its outcome, or why the report was refused.',
  'The request with its outcome; null on error.',
  reportActionOutcomeErrors,
);

builder.mutationField('reportActionOutcome', (t) =>
  t.field({
    type: ReportActionOutcomePayload,
    description:
      'Records, once, whether an approved action succeeded, within the approval window. A request that was not approved, a second report or a late one is a ConflictError. AGENT only.',
    authScopes: { can: Permission.RequestAction },
    args: { input: t.arg({ type: ReportActionOutcomeInput, required: true, description: 'The outcome to record.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(reportActionOutcomeErrors, async () => ({
        request: await reportActionOutcome(ctx.deps, viewerOf(ctx), { ...input, requestId: String(input.requestId) }),
      })),
  }),
);

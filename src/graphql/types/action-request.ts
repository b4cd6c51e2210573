import { effectiveParams } from '../../approvals/amend.js';
import { cancelActionRequest } from '../../approvals/cancel-action.js';
import { getActionRequest, listActionRequests } from '../../approvals/queries.js';
import { requestAction } from '../../approvals/request-action.js';
import { streamActionDecided } from '../../approvals/streams.js';
import { Permission } from '../../auth/permissions.js';
import type { ActionRequestRow } from '../../db/schema.js';
import {
  ConflictError,
  DelegationRequiredError,
  IdempotencyConflictError,
  InvalidInputError,
  NotAllowedError,
  NotFoundError,
  RateLimitedError,
} from '../../errors.js';
import { builder } from '../builder.js';
import { connectionOf } from '../connections.js';
import { decodeCursor, encodeCursor, encodeEventCursor, pageSize, toConnection } from '../cursors.js';
import { mutationErrors, toPayload } from '../errors.js';
import { shownValue } from '../redaction.js';
import { streamStart } from '../stream-start.js';
import { ActionOutcomeEnum, ActionStatusEnum, DecisionSourceEnum } from './enums.js';
import { EvaluationRef } from './evaluation.js';
import { PrincipalRef } from './principal.js';
import { requestPayload } from './request-payload.js';
import { approvalsReceived, requirementProgress, ReviewRequirementProgressRef } from './review-requirement.js';
import { ReviewRef } from './review.js';
import { viewerOf } from './viewer.js';

export const ActionRequestRef = builder.objectRef<ActionRequestRow>('ActionRequest').implement({
  description: 'An agent asking to perform one action on one resource, with its decision and history.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    agent: t.field({
      type: PrincipalRef,
      description: 'The agent that asked.',
      resolve: async (r, _args, ctx) => (await ctx.loaders.principal.load(r.agentId))!,
    }),
    onBehalfOf: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'The human the agent acts for, if any.',
      resolve: (r, _args, ctx) => (r.onBehalfOfId ? ctx.loaders.principal.load(r.onBehalfOfId) : null),
    }),
    owner: t.field({
      type: PrincipalRef,
      nullable: true,
      description: "The agent's owner when it asked, if it had one (a party, so never a reviewer of it).",
      resolve: (r, _args, ctx) => (r.ownerId ? ctx.loaders.principal.load(r.ownerId) : null),
    }),
    action: t.exposeString('action', { description: 'What the agent wants to do, e.g. `deploy.update`.' }),
    resource: t.exposeString('resource', { description: 'What it acts on, e.g. `prod/payments-api`.' }),
    params: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The parameters the agent sent (never changed; see `amendedParams`). Values at the paths the policy redacts (`redactPaths`) read `[redacted:hmac-sha256:…]` for everyone but ADMIN, the agent included.',
      resolve: (r, _args, ctx) => shownValue(ctx, r.params, 'params', r.redactPaths),
    }),
    amendedParams: t.field({
      type: 'JSON',
      nullable: true,
      description:
        "A reviewer's changed parameters (approve with changes, where the rule says `allowAmend`); null when unchanged. Redacted like `params`.",
      resolve: (r, _args, ctx) => shownValue(ctx, r.amendedParams, 'params', r.redactPaths),
    }),
    amendedEvaluation: t.field({
      type: EvaluationRef,
      nullable: true,
      description: 'How the policy judged the amended request (it was not blocked, or the change would have been refused).',
      resolve: (r) => r.amendedEvaluation,
    }),
    approvedParams: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'Once APPROVED: the parameters the agent may act with, `amendedParams` if a reviewer changed them, else `params`. Null otherwise. Redacted like `params`: the agent already holds its secrets.',
      resolve: (r, _args, ctx) => (r.status === 'APPROVED' ? shownValue(ctx, effectiveParams(r), 'params', r.redactPaths) : null),
    }),
    revision: t.exposeInt('revision', {
      description: 'Starts at 0; each approve-with-changes makes a new revision, and only approvals of the current one count.',
    }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why the agent says it needs to act.' }),
    context: t.field({
      type: 'JSON',
      description: 'Free labels the agent sent (policies see them as `context`). Redacted like `params`.',
      resolve: (r, _args, ctx) => shownValue(ctx, r.context, 'context', r.redactPaths),
    }),
    decisionCursor: t.string({
      nullable: true,
      description:
        'Once decided: the place of its decision in the live order of events, the same on every instance. Pass it as `after` to `actionDecided` to resume after this decision.',
      resolve: async (r, _args, ctx) => {
        if (r.status === 'PENDING') return null;
        const position = await ctx.loaders.decisionPosition.load(r.id);
        return position ? encodeEventCursor(position) : null;
      },
    }),
    redactPaths: t.exposeStringList('redactPaths', {
      description:
        'The paths (`params.password`, `context.email`) whose values are shown to everyone but ADMIN as a marker with a keyed hash: the redact list of the policy that decided, plus any added by the policy in force at an amendment.',
    }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true, description: 'The key the agent sent to make retries safe.' }),
    status: t.expose('status', { type: ActionStatusEnum, description: 'Where the request is in its lifecycle.' }),
    evaluation: t.field({ type: EvaluationRef, description: 'How the policy decided.', resolve: (r) => r.evaluation }),
    requiredGroups: t.exposeStringList('requiredGroups', {
      description: "Reviewer groups that may decide now (every requirement's groups united); empty means any reviewer.",
    }),
    requiredApprovals: t.exposeInt('requiredApprovals', {
      description:
        'Distinct people who must approve: the sum over `reviewRequirements` (a person counts once); 0 when the policy decided alone.',
    }),
    approvalsReceived: t.int({
      description: 'Approvals that count so far: distinct reviewers of the current revision, each counted for one requirement.',
      resolve: (r, _args, ctx) => approvalsReceived(r, ctx),
    }),
    reviewRequirements: t.field({
      type: [ReviewRequirementProgressRef],
      description: 'For escalated requests: one requirement per deciding rule, each with its progress; all must be met.',
      resolve: (r, _args, ctx) => requirementProgress(r, ctx),
    }),
    reviews: t.field({
      type: [ReviewRef],
      description: 'Every review, oldest first.',
      resolve: (r, _args, ctx) => ctx.loaders.reviews.load(r.id),
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'For escalated requests: when the review deadline passes (database time); reviewers may extend it.',
    }),
    remindedAt: t.expose('remindedAt', {
      type: 'DateTime',
      nullable: true,
      description:
        "When reviewers were reminded that the deadline is near (`action.expiring`, at the policy's `review.remindAt` share of the timeout); null before, and for requests never pending.",
    }),
    extensions: t.exposeInt('extensions', { description: 'How many times reviewers extended the deadline (`extendActionRequest`).' }),
    nextEscalationAt: t.expose('nextEscalationAt', {
      type: 'DateTime',
      nullable: true,
      description: 'While PENDING: when the next escalation step adds reviewer groups; null when none is left.',
    }),
    decidedAt: t.expose('decidedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the request left PENDING; null while pending.',
    }),
    decidedBy: t.expose('decidedBy', { type: DecisionSourceEnum, nullable: true, description: 'What decided; null while pending.' }),
    overridden: t.boolean({
      description:
        'True when an ADMIN decided outside the review rules (`overrideDecision`, break-glass): see `decider` and `decisionReason`.',
      resolve: (r) => r.decidedBy === 'ADMIN',
    }),
    decider: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'The person who decided, when a person did.',
      resolve: (r, _args, ctx) => (r.deciderId ? ctx.loaders.principal.load(r.deciderId) : null),
    }),
    decisionReason: t.exposeString('decisionReason', {
      nullable: true,
      description: "Why: the blocking rule's reason, the deciding reviewer's comment, or the administrator's override reason.",
    }),
    validUntil: t.expose('validUntil', {
      type: 'DateTime',
      nullable: true,
      description: 'For APPROVED requests: the agent must act, and report the outcome, before this instant.',
    }),
    outcome: t.expose('outcome', {
      type: ActionOutcomeEnum,
      nullable: true,
      description: 'What the agent reported happened; null until reported.',
    }),
    outcomeDetail: t.exposeString('outcomeDetail', { nullable: true, description: "The agent's details on the outcome." }),
    outcomeReportedAt: t.expose('outcomeReportedAt', { type: 'DateTime', nullable: true, description: 'When the outcome was reported.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the agent asked.' }),
  }),
});

export const ActionRequestConnection = connectionOf('ActionRequest', ActionRequestRef, 'action request');

builder.objectField(ActionRequestConnection, 'streamCursor', (t) =>
  t.string({
    nullable: true,
    description:
      'For `pendingApprovals`: the event-stream position this page was read at. Pass it as `after` to the `pendingApprovals` subscription to receive every queue change since, with no gap (a request may then be ADDED that this page already holds).',
    resolve: (c) => c.streamCursor ?? null,
  }),
);

const ActionRequestFilter = builder.inputType('ActionRequestFilter', {
  description: 'Narrows `actionRequests`; all given criteria must hold.',
  fields: (t) => ({
    statuses: t.field({ type: [ActionStatusEnum], required: false, description: 'Only requests in one of these statuses.' }),
    agentId: t.id({ required: false, description: 'Only requests by this agent.' }),
    action: t.string({ required: false, description: 'Only this exact action.' }),
    resource: t.string({ required: false, description: 'Only this exact resource.' }),
  }),
});

builder.queryField('actionRequest', (t) =>
  t.field({
    type: ActionRequestRef,
    nullable: true,
    description: 'One request, if it exists and the caller may see it (its agent, its reviewers, auditors, admins).',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true, description: 'The request id.' }) },
    resolve: (_root, { id }, ctx) => getActionRequest(ctx.deps.db, viewerOf(ctx), String(id)),
  }),
);

builder.queryField('actionRequests', (t) =>
  t.field({
    type: ActionRequestConnection,
    description: 'Requests the caller may see, newest first: an agent sees its own; a reviewer those it may review.',
    authScopes: { authenticated: true },
    args: {
      filter: t.arg({ type: ActionRequestFilter, required: false, description: 'Criteria to narrow the list.' }),
      first: t.arg.int({ required: false, description: 'Page size, 0-100 (default 20).' }),
      after: t.arg.string({ required: false, description: 'Return the items after this cursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const limit = pageSize(args.first);
      const rows = await listActionRequests(
        ctx.deps.db,
        viewerOf(ctx),
        args.filter ? { ...args.filter, agentId: args.filter.agentId ? String(args.filter.agentId) : null } : null,
        { afterPosition: decodeCursor('request', args.after), limit: limit + 1 },
      );
      return toConnection(rows, limit, (row) => encodeCursor('request', row.position), !!args.after);
    },
  }),
);

const RequestActionInput = builder.inputType('RequestActionInput', {
  description: 'What an agent asks to do.',
  fields: (t) => ({
    action: t.string({ required: true, description: 'The action, e.g. `deploy.update`: letters, digits and `_ . : / -`.' }),
    resource: t.string({ required: true, description: 'The target, e.g. `prod/payments-api`; no white space.' }),
    params: t.field({ type: 'JSON', required: false, description: 'A JSON object of parameters, at most 64 KiB.' }),
    reason: t.string({ required: false, description: 'Why the agent needs to act; shown to reviewers.' }),
    idempotencyKey: t.string({
      required: false,
      description: 'Makes retries safe: the same key with the same payload returns the original request. At most 255 characters.',
    }),
    onBehalfOf: t.id({ required: false, description: 'The human this agent acts for.' }),
    context: t.field({
      type: 'JSON',
      required: false,
      description: 'Free labels for policies (`context` in CEL), e.g. `{"ticket": "INC-42"}`: string values, at most 50.',
    }),
  }),
});

const requestActionErrors = mutationErrors([
  InvalidInputError,
  IdempotencyConflictError,
  NotAllowedError,
  DelegationRequiredError,
  RateLimitedError,
]);

const RequestActionPayload = requestPayload(
  'RequestActionPayload',
  'The request as decided by the policy, or why it was not accepted.',
  'APPROVED (go ahead), BLOCKED (do not), or PENDING (wait: subscribe to `actionDecided`). Null on error.',
  requestActionErrors,
);

builder.mutationField('requestAction', (t) =>
  t.field({
    type: RequestActionPayload,
    description: 'Asks permission for an action. The active policy allows it, blocks it, or escalates it to reviewers. AGENT only.',
    authScopes: { can: Permission.RequestAction },
    args: { input: t.arg({ type: RequestActionInput, required: true, description: 'The action to request.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(requestActionErrors, async () => ({
        request: (
          await requestAction(ctx.deps, viewerOf(ctx), {
            ...input,
            params: input.params as Record<string, unknown> | null | undefined,
            context: input.context as Record<string, string> | null | undefined,
            onBehalfOf: input.onBehalfOf == null ? null : String(input.onBehalfOf),
          })
        ).request,
      })),
  }),
);

builder.subscriptionField('actionDecided', (t) =>
  t.field({
    type: ActionRequestRef,
    description:
      "Requests leaving PENDING. With `requestId`: that request once decided (at once if it already is), then the stream completes. Without: each of the caller's own escalated requests as reviewers decide it; with `after` (a `decisionCursor`, or a `streamCursor`), the decisions after it are replayed first.",
    authScopes: { authenticated: true },
    args: {
      requestId: t.arg.id({ required: false, description: 'The request to wait for.' }),
      after: t.arg.string({
        required: false,
        description:
          'Without `requestId`: the `decisionCursor` of the last request received (or a `streamCursor`); what was decided after it is replayed, then the stream goes live.',
      }),
    },
    subscribe: (_root, { requestId, after }, ctx) =>
      streamActionDecided(ctx.deps, viewerOf(ctx), requestId == null ? null : String(requestId), streamStart(after)),
    resolve: (request: ActionRequestRow) => request,
  }),
);

const CancelActionRequestInput = builder.inputType('CancelActionRequestInput', {
  description: 'Which pending request the agent withdraws, and why.',
  fields: (t) => ({
    requestId: t.id({ required: true, description: 'One of your own PENDING requests.' }),
    reason: t.string({ required: false, description: 'Why, for reviewers and the audit log (at most 2000 characters).' }),
  }),
});

const cancelActionRequestErrors = mutationErrors([NotFoundError, ConflictError, InvalidInputError]);

const CancelActionRequestPayload = requestPayload(
  'CancelActionRequestPayload',
  'The cancelled request, or why it could not be cancelled.',
  'The request, now CANCELLED with `decidedBy: REQUESTER`; null on error.',
  cancelActionRequestErrors,
);

builder.mutationField('cancelActionRequest', (t) =>
  t.field({
    type: CancelActionRequestPayload,
    description:
      "Withdraws one of your own PENDING requests: it ends CANCELLED, leaves reviewers' queues, and `actionDecided` reports it. AGENT only.",
    authScopes: { can: Permission.RequestAction },
    args: { input: t.arg({ type: CancelActionRequestInput, required: true, description: 'The request to cancel.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(cancelActionRequestErrors, async () => ({
        request: await cancelActionRequest(ctx.deps, viewerOf(ctx), { requestId: String(input.requestId), reason: input.reason }),
      })),
  }),
);

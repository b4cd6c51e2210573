import { getActionRequest } from '../../approvals/queries.js';
import type { AuditEventFilter } from '../../audit/query.js';
import { readAuditEvents } from '../../audit/query.js';
import { streamAuditLog } from '../../audit/stream.js';
import { Permission } from '../../auth/permissions.js';
import type { AuditEventRow } from '../../db/schema.js';
import { positionOf } from '../../events/log.js';
import { isUuid } from '../../validation.js';
import { AuditEventType, type ActionStatus } from '../../vocabulary.js';
import { builder } from '../builder.js';
import { connectionOf } from '../connections.js';
import { decodeCursor, encodeCursor, encodeEventCursor, pageSize, toConnection } from '../cursors.js';
import { shownEventData } from '../redaction.js';
import { streamStart } from '../stream-start.js';
import { ActionRequestRef } from './action-request.js';
import { ActionStatusEnum } from './enums.js';
import { PrincipalRef } from './principal.js';
import { viewerOf } from './viewer.js';

const AUDIT_TYPE_DESCRIPTIONS: Record<AuditEventType, string> = {
  PRINCIPAL_CREATED: 'An agent or human was created.',
  PRINCIPAL_UPDATED:
    "An ADMIN changed a principal's name, roles, groups, labels or owner (`data.changes`: each field's old and new value).",
  PRINCIPAL_DISABLED: 'An ADMIN disabled a principal: its tokens stopped working and its open connections were closed.',
  PRINCIPAL_ENABLED: 'An ADMIN enabled a disabled principal again.',
  TOKEN_ROTATED: "The bootstrap administrator's tokens were replaced by a new ADMIN_TOKEN.",
  TOKEN_ISSUED: 'A named bearer token was issued to a principal (never its secret).',
  TOKEN_REVOKED: 'A bearer token was revoked: it stopped working and its open connections were closed.',
  DELEGATION_GRANTED: 'A human let an agent act on their behalf (`onBehalfOf`) for some actions.',
  DELEGATION_REVOKED: 'A delegation was revoked.',
  DELEGATION_REFUSED: 'An agent named a human it may not act for (`onBehalfOf`); no request was made.',
  POLICY_PUBLISHED: 'A new policy version was published and became active.',
  POLICY_ACTIVATED: 'An earlier policy version was made active again (a rollback).',
  ACTION_REQUESTED: 'An agent asked to perform an action.',
  ACTION_APPROVED: 'A request was approved, by policy or by reviewers.',
  ACTION_BLOCKED: 'The policy blocked a request.',
  ACTION_ESCALATED:
    'A request was sent to human reviewers, or an escalation step of its review ladder added reviewer groups (`data.step`).',
  REVIEW_SUBMITTED: 'A reviewer approved (possibly with changed params) or rejected.',
  REVIEW_REFUSED: 'A party to a request (its agent, another agent, its owner, the human it acts for) tried to review it and was refused.',
  ACTION_EXTENDED: "A reviewer moved a pending request's deadline.",
  ACTION_EXPIRING:
    "A pending request reached its reminder (the policy's `review.remindAt` share of its timeout, default 0.8): its deadline is near. Sent once per request; webhooks see it as `action.expiring`.",
  DECISION_OVERRIDDEN: 'An ADMIN decided a pending request outside the review rules (break-glass), with a reason.',
  ACTION_REJECTED: 'A request was rejected: by a reviewer, or by its deadline where the rule says onTimeout REJECT.',
  ACTION_EXPIRED: 'Nobody decided a request before its deadline.',
  ACTION_CANCELLED: 'The requesting agent withdrew a pending request.',
  OUTCOME_REPORTED: 'The agent reported whether an approved action succeeded.',
  RECEIPT_REDEEMED: "An executing system redeemed the approved request's signed receipt (`redeemReceipt`); a receipt is redeemed once.",
  STANDING_APPROVAL_GRANTED:
    'A reviewer approving a request also approved requests like it (same agent and action, a resource glob, optionally the same params) for a while.',
  STANDING_APPROVAL_USED: "A standing approval stood in for its reviewer's approval of a new request (the request id is on the event).",
  STANDING_APPROVAL_REVOKED: 'A standing approval was revoked, by its reviewer or an ADMIN, before it expired.',
  WEBHOOK_CREATED: 'An ADMIN registered a webhook endpoint (its URL, events and format; never its secret).',
  WEBHOOK_UPDATED: "An ADMIN changed a webhook's URL, events, format or description.",
  WEBHOOK_DELETED: 'An ADMIN deleted a webhook: nothing more is sent to it; its deliveries stay listed.',
  WEBHOOK_SECRET_ROTATED: "A webhook's signing secret was replaced; the old one signs alongside the new one until `previousSecretUntil`.",
  WEBHOOK_REDELIVERED: 'An ADMIN asked for a webhook delivery to be sent again.',
  AUDIT_VERIFICATION_FAILED:
    'A check of the whole audit log (`verifyAuditLog`, `greenlight audit verify`, or the periodic check) found its hash chain or signed checkpoints broken: `data.firstBrokenSeq`, `data.reason`. An instance records the same break at most once per `AUDIT_VERIFY_INTERVAL_SECONDS`; webhooks see it as `audit.verification_failed`.',
};

const AuditEventTypeEnum = builder.enumType('AuditEventType', {
  description: 'What kind of state change an audit event records.',
  values: Object.fromEntries(Object.values(AuditEventType).map((type) => [type, { description: AUDIT_TYPE_DESCRIPTIONS[type] }])) as Record<
    AuditEventType,
    { description: string }
  >,
});

const AuditEventRef = builder.objectRef<AuditEventRow>('AuditEvent').implement({
  description: 'An append-only record of one state change, written in the same transaction as the change.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Sequential id in append order.' }),
    cursor: t.string({
      description:
        'Its place in the live order (the same on every instance); pass as `after` to a subscription to continue after this event.',
      resolve: (e) => encodeEventCursor(positionOf(e)),
    }),
    type: t.expose('type', { type: AuditEventTypeEnum, description: 'What happened.' }),
    actor: t.field({
      type: PrincipalRef,
      nullable: true,
      description: 'Who caused it; null for the system (policy decisions, start-up).',
      resolve: (e, _args, ctx) => (e.actorId ? ctx.loaders.principal.load(e.actorId) : null),
    }),
    requestId: t.exposeID('requestId', { nullable: true, description: 'The action request concerned, if any.' }),
    request: t.field({
      type: ActionRequestRef,
      nullable: true,
      description: 'The action request concerned, as it is now.',
      resolve: (e, _args, ctx) => (e.requestId ? getActionRequest(ctx.deps.db, viewerOf(ctx), e.requestId) : null),
    }),
    data: t.field({
      type: 'JSON',
      description:
        'Type-specific details, e.g. the verdict and comment of a review. Values at the paths a policy redacts read `[redacted:hmac-sha256:…]` (a keyed hash of the value) for everyone but ADMIN; the hash chain covers these markers.',
      resolve: (e, _args, ctx) => shownEventData(ctx, e),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'Commit-transaction time of the change.' }),
    seq: t.int({
      nullable: true,
      description:
        'Place in the hash chain (gap-free from 1), assigned by the sealer within about a second of the commit; null until then.',
      resolve: (e) => e.seq,
    }),
    prevHash: t.exposeString('prevHash', {
      nullable: true,
      description: 'Hash of the event at `seq - 1` (64 zeros for seq 1); null until sealed.',
    }),
    hash: t.exposeString('hash', {
      nullable: true,
      description:
        'sha256(prevHash ‖ canonical JSON of {id, type, actorId, requestId, data, createdAt}) in hex; null until sealed. See `verifyAuditLog`.',
    }),
  }),
});

const AuditEventConnection = connectionOf('AuditEvent', AuditEventRef, 'audit event');

const AuditEventFilterInput = builder.inputType('AuditEventFilter', {
  description: 'Narrows audit events; all given criteria must hold.',
  fields: (t) => ({
    requestId: t.id({ required: false, description: 'Only events about this action request.' }),
    actorId: t.id({ required: false, description: 'Only events caused by this principal.' }),
    agentId: t.id({ required: false, description: 'Only events about requests of this agent.' }),
    types: t.field({ type: [AuditEventTypeEnum], required: false, description: 'Only events of these types.' }),
    action: t.string({
      required: false,
      description:
        'Only events about requests whose action matches this glob: `*` matches any run of characters, `?` one (e.g. `deploy.*`).',
    }),
    resourcePrefix: t.string({
      required: false,
      description: 'Only events about requests whose resource starts with this (e.g. `prod/`).',
    }),
    decisions: t.field({
      type: [ActionStatusEnum],
      required: false,
      description: 'Only decision events with one of these outcomes (APPROVED, BLOCKED, REJECTED, EXPIRED, CANCELLED).',
    }),
    since: t.field({ type: 'DateTime', required: false, description: 'Only events at or after this instant.' }),
    until: t.field({ type: 'DateTime', required: false, description: 'Only events before this instant.' }),
  }),
});

// An id that is not a uuid can match nothing; the nil uuid says so without failing in PostgreSQL.
const MATCHES_NOTHING = '00000000-0000-0000-0000-000000000000';

type FilterInput = {
  requestId?: string | number | null;
  agentId?: string | number | null;
  actorId?: string | number | null;
  types?: AuditEventType[] | null;
  action?: string | null;
  resourcePrefix?: string | null;
  decisions?: ActionStatus[] | null;
  since?: Date | null;
  until?: Date | null;
};

/** Text PostgreSQL cannot hold (NUL) can match no stored value. */
const text = (value: string | null | undefined) => (value == null ? null : value.includes('\u0000') ? MATCHES_NOTHING : value);

function toFilter(input: FilterInput | null | undefined): AuditEventFilter | null {
  if (!input) return null;
  const id = (value: string | number | null | undefined) =>
    value == null ? null : isUuid(String(value)) ? String(value) : MATCHES_NOTHING;
  return {
    requestId: id(input.requestId),
    agentId: id(input.agentId),
    actorId: id(input.actorId),
    types: input.types,
    action: text(input.action),
    resourcePrefix: text(input.resourcePrefix),
    decisions: input.decisions,
    since: input.since,
    until: input.until,
  };
}

const AuditEventOrderEnum = builder.enumType('AuditEventOrder', {
  description: 'The order of `auditEvents`: by place in the hash chain.',
  values: {
    SEQ_ASC: { description: 'Oldest first (the default).' },
    SEQ_DESC: { description: 'Newest first.' },
  } as const,
});

builder.queryField('auditEvents', (t) =>
  t.field({
    type: AuditEventConnection,
    description:
      'The sealed audit log in hash-chain order, keyset-paginated on `seq` (an event joins within about a second of its commit, after every event sealed before it). Kept forever. AUDITOR or ADMIN only.',
    authScopes: { can: Permission.ReadAudit },
    args: {
      filter: t.arg({ type: AuditEventFilterInput, required: false, description: 'Criteria to narrow the log.' }),
      first: t.arg.int({ required: false, description: 'Page size, 0-100 (default 20).' }),
      after: t.arg.string({ required: false, description: 'Return the events after this cursor (in the chosen order).' }),
      orderBy: t.arg({ type: AuditEventOrderEnum, required: false, description: 'SEQ_ASC (default) or SEQ_DESC.' }),
    },
    resolve: async (_root, args, ctx) => {
      const limit = pageSize(args.first);
      const rows = await readAuditEvents(ctx.deps, viewerOf(ctx), toFilter(args.filter), {
        afterSeq: decodeCursor('chain', args.after),
        limit: limit + 1,
        order: args.orderBy ?? 'SEQ_ASC',
      });
      return toConnection(rows, limit, (row) => encodeCursor('chain', row.seq!), !!args.after);
    },
  }),
);

builder.subscriptionField('auditEvents', (t) =>
  t.field({
    type: AuditEventRef,
    description:
      "The audit log live, as events commit (before sealing, so `seq` is null). With `after` — an event's `cursor`, or an `auditEvents` page cursor — what came after it is replayed first. AUDITOR or ADMIN only.",
    authScopes: { can: Permission.ReadAudit },
    args: {
      after: t.arg.string({ required: false, description: 'Cursor of the last event already seen.' }),
      filter: t.arg({ type: AuditEventFilterInput, required: false, description: 'Criteria to narrow the stream.' }),
    },
    subscribe: (_root, args, ctx) =>
      streamAuditLog(ctx.deps, viewerOf(ctx), { start: streamStart(args.after), filter: toFilter(args.filter) }),
    resolve: (event: AuditEventRow) => event,
  }),
);

import { Permission } from '../../auth/permissions.js';
import type { WebhookAttemptRow, WebhookRow } from '../../db/schema.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError } from '../../errors.js';
import { listDeliveries, type DeliveryWithAttempts } from '../../notifications/deliveries.js';
import {
  createWebhook,
  deleteWebhook,
  listWebhooks,
  redeliverWebhook,
  rotateWebhookSecret,
  updateWebhook,
} from '../../notifications/webhooks.js';
import { DeliveryStatus, WebhookFormat } from '../../vocabulary.js';
import { builder } from '../builder.js';
import { connectionOf } from '../connections.js';
import { decodeCursor, encodeCursor, pageSize, toConnection } from '../cursors.js';
import { mutationErrors, toPayload, type ErrorShape } from '../errors.js';
import { entityPayload } from '../payloads.js';
import { viewerOf } from './viewer.js';

const WebhookFormatEnum = builder.enumType('WebhookFormat', {
  description: 'What a webhook sends.',
  values: {
    [WebhookFormat.JSON]: {
      description:
        'Standard Webhooks 1.0: a JSON body `{ type, timestamp, data }` signed in `webhook-id`, `webhook-timestamp` and `webhook-signature` (HMAC-SHA256 with the `whsec_` secret).',
    },
    [WebhookFormat.SLACK]: {
      description:
        'A Slack incoming-webhook message (what, where, who, why, deadline, and a button to the console), unsigned as Slack expects.',
    },
  } as const,
});

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'Where a webhook delivery stands.',
  values: {
    [DeliveryStatus.PENDING]: { description: 'Waiting for its first try or its next retry.' },
    [DeliveryStatus.DELIVERED]: { description: 'The endpoint answered 2xx.' },
    [DeliveryStatus.DEAD]: {
      description:
        'Dead-lettered: retries ran out (WEBHOOK_RETRY_WINDOW_SECONDS, 24 h by default) or the webhook was deleted. `redeliverWebhook` tries again.',
    },
  } as const,
});

const WebhookRef = builder.objectRef<WebhookRow>('Webhook').implement({
  description: 'An endpoint that hears of events as they are sealed into the audit log, each at least once, in order per request.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    url: t.exposeString('url', { description: 'Where deliveries are POSTed (redirects are not followed).' }),
    events: t.exposeStringList('events', {
      description:
        'The event names it hears (`action.requested`, `action.escalated`, `action.approved`, `action.rejected`, `action.blocked`, `action.expired`, `action.cancelled`, `action.outcome_reported`, `policy.published`, `principal.changed`), or `*`.',
    }),
    format: t.field({ type: WebhookFormatEnum, description: 'JSON (signed) or SLACK.', resolve: (w) => w.format as WebhookFormat }),
    description: t.exposeString('description', { nullable: true, description: 'What it is for, for people.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was registered: it hears of events sealed after that.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it was last changed (or its secret rotated).' }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'After a rotation: until when the previous secret signs alongside the new one.',
      resolve: (w) => w.previousSecretUntil,
    }),
  }),
});

const WebhookAttemptRef = builder.objectRef<WebhookAttemptRow>('WebhookAttempt').implement({
  description: 'One try of a delivery.',
  fields: (t) => ({
    attemptedAt: t.expose('attemptedAt', { type: 'DateTime', description: 'When it was tried.' }),
    statusCode: t.exposeInt('statusCode', {
      nullable: true,
      description: "The endpoint's HTTP status; null when none came (refused, timed out).",
    }),
    latencyMs: t.exposeInt('latencyMs', { description: 'How long the try took, in milliseconds.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed; null for a 2xx answer.' }),
  }),
});

const WebhookDeliveryRef = builder.objectRef<DeliveryWithAttempts>('WebhookDelivery').implement({
  description: 'What one endpoint is owed for one audit event, and each try of it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Sent as `webhook-id`, the same on every try: receivers drop duplicates by it.' }),
    eventType: t.exposeString('eventType', { description: 'The event name, e.g. `action.approved`.' }),
    eventSeq: t.exposeInt('eventSeq', { description: "The audit event's place in the hash chain." }),
    requestId: t.exposeID('requestId', { nullable: true, description: 'The request it is about, if any.' }),
    status: t.field({ type: DeliveryStatusEnum, description: 'PENDING, DELIVERED or DEAD.', resolve: (d) => d.status as DeliveryStatus }),
    attemptCount: t.exposeInt('attempts', { description: 'Tries so far.' }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'While PENDING: when it is tried next.',
      resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was enqueued (or redelivered).' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true, description: 'When the endpoint answered 2xx.' }),
    attempts: t.field({ type: [WebhookAttemptRef], description: 'Every try, oldest first.', resolve: (d) => d.tries }),
  }),
});

const WebhookDeliveryConnection = connectionOf('WebhookDelivery', WebhookDeliveryRef, 'webhook delivery');

const WebhookDeliveryFilter = builder.inputType('WebhookDeliveryFilter', {
  description: 'Criteria to narrow the deliveries.',
  fields: (t) => ({ statuses: t.field({ type: [DeliveryStatusEnum], required: false, description: 'Only these statuses.' }) }),
});

builder.queryField('webhooks', (t) =>
  t.field({
    type: [WebhookRef],
    description: 'Every webhook, newest first (at most 100). ADMIN only.',
    authScopes: { can: Permission.ManageWebhooks },
    resolve: (_root, _args, ctx) => listWebhooks(ctx.deps, viewerOf(ctx)),
  }),
);

builder.queryField('webhookDeliveries', (t) =>
  t.field({
    type: WebhookDeliveryConnection,
    description: "One webhook's deliveries, newest event first, each with its tries. ADMIN only.",
    authScopes: { can: Permission.ManageWebhooks },
    args: {
      webhookId: t.arg.id({ required: true, description: 'The webhook.' }),
      filter: t.arg({ type: WebhookDeliveryFilter, required: false, description: 'Criteria to narrow the list.' }),
      first: t.arg.int({ required: false, description: 'Page size, 0-100 (default 20).' }),
      after: t.arg.string({ required: false, description: 'Return the deliveries after this cursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const limit = pageSize(args.first);
      const rows = await listDeliveries(ctx.deps.db, viewerOf(ctx), {
        webhookId: String(args.webhookId),
        statuses: args.filter?.statuses ?? null,
        beforeSeq: decodeCursor('delivery', args.after),
        limit,
      });
      return toConnection(rows, limit, (row) => encodeCursor('delivery', row.eventSeq), args.after != null);
    },
  }),
);

const CreateWebhookInput = builder.inputType('CreateWebhookInput', {
  description: 'A webhook to register.',
  fields: (t) => ({
    url: t.string({
      required: true,
      description:
        'An http(s) URL. Loopback, private, link-local and metadata addresses are refused (here and when connecting) unless WEBHOOK_ALLOW_PRIVATE=true.',
    }),
    events: t.stringList({ required: true, description: 'Event names to hear, or `["*"]` for all.' }),
    format: t.field({ type: WebhookFormatEnum, required: false, description: 'JSON (default) or SLACK.' }),
    description: t.string({ required: false, description: 'What it is for (at most 500 characters).' }),
  }),
});

type SecretPayload = { webhook?: WebhookRow; secret?: string; errors: ErrorShape[] };
const secretErrors = mutationErrors([NotFoundError, NotAllowedError, InvalidInputError]);
const secretPayload = (name: string, description: string) =>
  builder.objectRef<SecretPayload>(name).implement({
    description,
    fields: (t) => ({
      webhook: t.field({ type: WebhookRef, nullable: true, description: 'The webhook; null on error.', resolve: (p) => p.webhook ?? null }),
      secret: t.string({
        nullable: true,
        description: 'The signing secret (`whsec_…`), for the receiver to verify with. Shown only here, once: store it now.',
        resolve: (p) => p.secret ?? null,
      }),
      errors: t.field({ ...secretErrors.field, resolve: (p) => p.errors }),
    }),
  });

builder.mutationField('createWebhook', (t) =>
  t.field({
    type: secretPayload('CreateWebhookPayload', 'The new webhook and its secret, or why it was refused.'),
    description: 'Registers a webhook; it hears of events sealed from now on. ADMIN only; audited (WEBHOOK_CREATED, never the secret).',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: CreateWebhookInput, required: true, description: 'The webhook.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(secretErrors, () => createWebhook(ctx.deps, viewerOf(ctx), { ...input, format: input.format ?? undefined })),
  }),
);

const UpdateWebhookInput = builder.inputType('UpdateWebhookInput', {
  description: 'What to change; omitted fields stay.',
  fields: (t) => ({
    webhookId: t.id({ required: true, description: 'The webhook.' }),
    url: t.string({ required: false, description: 'A new URL, checked as at creation.' }),
    events: t.stringList({ required: false, description: 'New event names, or `["*"]`.' }),
    format: t.field({ type: WebhookFormatEnum, required: false, description: 'A new format.' }),
    description: t.string({ required: false, description: 'A new description.' }),
  }),
});

const changeErrors = mutationErrors([NotFoundError, NotAllowedError, InvalidInputError]);
const webhookPayload = (name: string, description: string) =>
  entityPayload(name, {
    description,
    key: 'webhook',
    type: () => WebhookRef,
    fieldDescription: 'The webhook; null on error.',
    errors: changeErrors,
  });

builder.mutationField('updateWebhook', (t) =>
  t.field({
    type: webhookPayload('UpdateWebhookPayload', 'The changed webhook, or why it was refused.'),
    description: "Changes a webhook's URL, events, format or description. ADMIN only; audited (WEBHOOK_UPDATED).",
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: UpdateWebhookInput, required: true, description: 'The change.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(changeErrors, async () => ({
        webhook: await updateWebhook(ctx.deps, viewerOf(ctx), { ...input, webhookId: String(input.webhookId) }),
      })),
  }),
);

builder.mutationField('deleteWebhook', (t) =>
  t.field({
    type: webhookPayload('DeleteWebhookPayload', 'The deleted webhook, or why it could not be deleted.'),
    description:
      'Deletes a webhook: nothing more is sent to it (its pending deliveries become DEAD); its deliveries stay listed. ADMIN only; audited.',
    authScopes: { authenticated: true },
    args: { webhookId: t.arg.id({ required: true, description: 'The webhook.' }) },
    resolve: (_root, { webhookId }, ctx) =>
      toPayload(changeErrors, async () => ({ webhook: await deleteWebhook(ctx.deps, viewerOf(ctx), String(webhookId)) })),
  }),
);

const RotateWebhookSecretInput = builder.inputType('RotateWebhookSecretInput', {
  description: 'The webhook whose secret to replace.',
  fields: (t) => ({
    webhookId: t.id({ required: true, description: 'The webhook.' }),
    graceSeconds: t.int({
      required: false,
      description:
        'How long the old secret keeps signing beside the new one (each delivery then carries two signatures): 0 to 604800, default 86400 (24 h).',
    }),
  }),
});

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: secretPayload('RotateWebhookSecretPayload', 'The webhook and its new secret, or why it was refused.'),
    description:
      'Replaces the signing secret; the old one signs alongside the new one for the grace period, so receivers switch without losing a delivery. ADMIN only; audited.',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: RotateWebhookSecretInput, required: true, description: 'The webhook.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(secretErrors, () => rotateWebhookSecret(ctx.deps, viewerOf(ctx), { ...input, webhookId: String(input.webhookId) })),
  }),
);

const redeliverErrors = mutationErrors([NotFoundError, NotAllowedError, ConflictError]);

builder.mutationField('redeliverWebhook', (t) =>
  t.field({
    type: entityPayload('RedeliverWebhookPayload', {
      description: 'The delivery, queued again, or why not.',
      key: 'delivery',
      type: () => WebhookDeliveryRef,
      fieldDescription: 'The delivery, PENDING again; null on error.',
      errors: redeliverErrors,
    }),
    description: 'Sends a delivery again with a fresh retry budget (a DEAD one included), with the same `webhook-id`. ADMIN only; audited.',
    authScopes: { authenticated: true },
    args: { deliveryId: t.arg.id({ required: true, description: 'The delivery.' }) },
    resolve: (_root, { deliveryId }, ctx) =>
      toPayload(redeliverErrors, async () => ({
        delivery: { ...(await redeliverWebhook(ctx.deps, viewerOf(ctx), String(deliveryId))), tries: [] },
      })),
  }),
);

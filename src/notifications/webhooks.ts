import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Transaction } from '../db/client.js';
import { webhookDeliveries, webhooks, type WebhookRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { values, WEBHOOK_EVENTS, WebhookFormat } from '../vocabulary.js';
import { targetProblem } from './addresses.js';
import { lockPosition } from './outbox.js';

/** How long an old secret keeps signing after a rotation, unless the rotation says otherwise. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 60 * 60;
export const MAX_WEBHOOKS = 100;

const WebhookEvents = z
  .array(z.enum(['*', ...WEBHOOK_EVENTS] as [string, ...string[]], { error: `must be one of *, ${WEBHOOK_EVENTS.join(', ')}` }))
  .min(1, 'must name at least one event, or *')
  .max(WEBHOOK_EVENTS.length + 1)
  .transform((events) => [...new Set(events)].sort());

const WebhookUrl = z
  .string()
  .max(2_048, 'must be at most 2048 characters')
  .transform((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
    if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not carry credentials (user:password@)' });
    return url;
  });

export const CreateWebhookInput = z.object({
  url: WebhookUrl,
  events: WebhookEvents,
  format: z.enum(values(WebhookFormat)).default('JSON'),
  description: storableText(500).nullish(),
});

export const UpdateWebhookInput = z.object({
  webhookId: z.string(),
  url: WebhookUrl.nullish(),
  events: WebhookEvents.nullish(),
  format: z.enum(values(WebhookFormat)).nullish(),
  description: storableText(500).nullish(),
});

export const RotateWebhookSecretInput = z.object({
  webhookId: z.string(),
  /** How long the old secret keeps signing beside the new one (0 to 7 days). */
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 60 * 60)
    .nullish(),
});

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/**
 * A webhook URL as the audit log keeps it: its origin and a SHA-256 of the whole. Paths and
 * queries often hold credentials (a Slack incoming-webhook URL is one), and auditors, exports
 * and other webhooks read the log.
 */
export function loggableUrl(url: string): string {
  return `${new URL(url).origin}/… (sha256:${createHash('sha256').update(url).digest('hex').slice(0, 16)})`;
}

async function assertReachable(url: URL, allowPrivate: boolean): Promise<void> {
  const problem = await targetProblem(url, allowPrivate);
  if (problem) throw InvalidInputError.of('url', `is refused: ${problem} (set WEBHOOK_ALLOW_PRIVATE=true to allow private targets)`);
}

async function locked(tx: Transaction, webhookId: string): Promise<WebhookRow> {
  const [row] = isUuid(webhookId)
    ? await tx
        .select()
        .from(webhooks)
        .where(and(eq(webhooks.id, webhookId), isNull(webhooks.deletedAt)))
        .for('update')
    : [];
  if (!row) throw new NotFoundError('Webhook', webhookId);
  return row;
}

async function commit<T>(deps: Deps, work: (tx: Transaction) => Promise<{ result: T; events: NewAuditEvent[] }>): Promise<T> {
  const { result, rows } = await deps.db.transaction(async (tx) => {
    const { result, events } = await work(tx);
    return { result, rows: await appendAuditEvents(tx, events) };
  });
  deps.hub.publish(rows);
  return result;
}

/** Registers an endpoint; its secret is returned here once (and by `rotateWebhookSecret`). */
export async function createWebhook(
  deps: Deps,
  actor: Principal,
  rawInput: z.input<typeof CreateWebhookInput>,
): Promise<{ webhook: WebhookRow; secret: string }> {
  authorize(actor, Permission.ManageWebhooks);
  const input = parseInput(CreateWebhookInput, rawInput);
  await assertReachable(input.url, deps.webhooks.allowPrivate);
  const secret = newSecret();
  return commit(deps, async (tx) => {
    const [{ count }] = (await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(webhooks)
      .where(isNull(webhooks.deletedAt))) as [{ count: number }];
    if (count >= MAX_WEBHOOKS) throw InvalidInputError.of('url', `there are already ${MAX_WEBHOOKS} webhooks: delete one first`);
    const fromSeq = await lockPosition(tx);
    const [webhook] = await tx
      .insert(webhooks)
      .values({
        url: input.url.href,
        events: input.events,
        format: input.format,
        description: input.description ?? null,
        secret,
        fromSeq,
        createdById: actor.id,
      })
      .returning();
    const { id, url, events, format, description } = webhook!;
    return {
      result: { webhook: webhook!, secret },
      events: [{ type: 'WEBHOOK_CREATED', actorId: actor.id, data: { webhookId: id, url: loggableUrl(url), events, format, description } }],
    };
  });
}

/** Changes an endpoint's URL, events, format or description; the secret stays. */
export async function updateWebhook(deps: Deps, actor: Principal, rawInput: z.input<typeof UpdateWebhookInput>): Promise<WebhookRow> {
  authorize(actor, Permission.ManageWebhooks);
  const input = parseInput(UpdateWebhookInput, rawInput);
  if (input.url) await assertReachable(input.url, deps.webhooks.allowPrivate);
  return commit(deps, async (tx) => {
    // Changes wait for a consumer batch under way, which read the endpoints as they were.
    await lockPosition(tx);
    const before = await locked(tx, input.webhookId);
    const next = {
      url: input.url?.href ?? before.url,
      events: input.events ?? before.events,
      format: input.format ?? before.format,
      description: input.description === undefined ? before.description : input.description,
    };
    const changes = Object.fromEntries(
      (Object.keys(next) as (keyof typeof next)[])
        .filter((key) => JSON.stringify(next[key]) !== JSON.stringify(before[key]))
        .map((key) =>
          key === 'url' ? [key, { from: loggableUrl(before.url), to: loggableUrl(next.url) }] : [key, { from: before[key], to: next[key] }],
        ),
    );
    const [updated] = await tx
      .update(webhooks)
      .set({ ...next, updatedAt: sql`now()` })
      .where(eq(webhooks.id, before.id))
      .returning();
    return { result: updated!, events: [{ type: 'WEBHOOK_UPDATED', actorId: actor.id, data: { webhookId: before.id, changes } }] };
  });
}

/** Stops an endpoint: nothing more is enqueued or sent to it; its deliveries stay listed. */
export async function deleteWebhook(deps: Deps, actor: Principal, webhookId: string): Promise<WebhookRow> {
  authorize(actor, Permission.ManageWebhooks);
  return commit(deps, async (tx) => {
    // After this, the consumer's next batch no longer sees the endpoint: none of its rows is left PENDING.
    await lockPosition(tx);
    const before = await locked(tx, webhookId);
    const [deleted] = await tx
      .update(webhooks)
      .set({ deletedAt: sql`now()` })
      .where(eq(webhooks.id, before.id))
      .returning();
    await tx
      .update(webhookDeliveries)
      .set({ status: 'DEAD', leaseUntil: null })
      .where(and(eq(webhookDeliveries.webhookId, before.id), eq(webhookDeliveries.status, 'PENDING')));
    return {
      result: deleted!,
      events: [{ type: 'WEBHOOK_DELETED', actorId: actor.id, data: { webhookId: before.id, url: loggableUrl(before.url) } }],
    };
  });
}

/** A new secret, returned once; the old one signs beside it for the grace period. */
export async function rotateWebhookSecret(
  deps: Deps,
  actor: Principal,
  rawInput: z.input<typeof RotateWebhookSecretInput>,
): Promise<{ webhook: WebhookRow; secret: string }> {
  authorize(actor, Permission.ManageWebhooks);
  const input = parseInput(RotateWebhookSecretInput, rawInput);
  const grace = input.graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS;
  const secret = newSecret();
  return commit(deps, async (tx) => {
    const before = await locked(tx, input.webhookId);
    const [webhook] = await tx
      .update(webhooks)
      .set({
        secret,
        previousSecret: before.secret,
        previousSecretUntil: sql`now() + make_interval(secs => ${grace})`,
        updatedAt: sql`now()`,
      })
      .where(eq(webhooks.id, before.id))
      .returning();
    return {
      result: { webhook: webhook!, secret },
      events: [
        {
          type: 'WEBHOOK_SECRET_ROTATED',
          actorId: actor.id,
          data: { webhookId: before.id, previousSecretUntil: webhook!.previousSecretUntil!.toISOString() },
        },
      ],
    };
  });
}

/** Every live endpoint, newest first. */
export async function listWebhooks(deps: Pick<Deps, 'db'>, actor: Principal): Promise<WebhookRow[]> {
  authorize(actor, Permission.ManageWebhooks);
  return deps.db.select().from(webhooks).where(isNull(webhooks.deletedAt)).orderBy(desc(webhooks.createdAt)).limit(MAX_WEBHOOKS);
}

/** Sends a delivery again, from a fresh retry budget (a DEAD one comes back to life). */
export async function redeliverWebhook(deps: Deps, actor: Principal, deliveryId: string) {
  authorize(actor, Permission.ManageWebhooks);
  return commit(deps, async (tx) => {
    const [delivery] = isUuid(deliveryId)
      ? await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId)).for('update')
      : [];
    if (!delivery) throw new NotFoundError('WebhookDelivery', deliveryId);
    await locked(tx, delivery.webhookId);
    const [{ sending }] = (await tx
      .select({ sending: sql<boolean>`${webhookDeliveries.leaseUntil} > now()` })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.id, delivery.id))) as [{ sending: boolean | null }];
    if (sending) throw new ConflictError('The delivery is being sent right now: wait for this try to end.', 'SENDING');
    const [updated] = await tx
      .update(webhookDeliveries)
      .set({
        status: 'PENDING',
        attempts: 0,
        nextAttemptAt: sql`now()`,
        createdAt: sql`now()`,
        leaseUntil: null,
        leaseToken: null,
        deliveredAt: null,
      })
      .where(eq(webhookDeliveries.id, delivery.id))
      .returning();
    return {
      result: updated!,
      events: [
        {
          type: 'WEBHOOK_REDELIVERED',
          actorId: actor.id,
          requestId: delivery.requestId,
          data: { webhookId: delivery.webhookId, deliveryId: delivery.id, eventType: delivery.eventType },
        },
      ],
    };
  });
}

import { and, asc, desc, eq, inArray, lt } from 'drizzle-orm';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Database } from '../db/client.js';
import { webhookAttempts, webhookDeliveries, webhooks, type WebhookAttemptRow, type WebhookDeliveryRow } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import { isUuid } from '../validation.js';
import type { DeliveryStatus } from '../vocabulary.js';

export type DeliveryWithAttempts = WebhookDeliveryRow & { tries: WebhookAttemptRow[] };

/**
 * One endpoint's deliveries, newest event first (keyset on the event's `seq`, below `beforeSeq`),
 * each with its attempts; `limit + 1` rows so the caller knows whether another page exists.
 */
export async function listDeliveries(
  db: Database,
  actor: Principal,
  options: { webhookId: string; statuses?: readonly DeliveryStatus[] | null; beforeSeq: number | null; limit: number },
): Promise<DeliveryWithAttempts[]> {
  authorize(actor, Permission.ManageWebhooks);
  const [webhook] = isUuid(options.webhookId)
    ? await db.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.id, options.webhookId))
    : [];
  if (!webhook) throw new NotFoundError('Webhook', options.webhookId);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhook.id),
        options.statuses?.length ? inArray(webhookDeliveries.status, [...new Set(options.statuses)]) : undefined,
        options.beforeSeq !== null ? lt(webhookDeliveries.eventSeq, options.beforeSeq) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.eventSeq))
    .limit(options.limit + 1);
  if (rows.length === 0) return [];
  const tries = await db
    .select()
    .from(webhookAttempts)
    .where(
      inArray(
        webhookAttempts.deliveryId,
        rows.map((row) => row.id),
      ),
    )
    .orderBy(asc(webhookAttempts.id));
  return rows.map((row) => ({ ...row, tries: tries.filter((attempt) => attempt.deliveryId === row.id) }));
}

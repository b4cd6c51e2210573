import { and, asc, eq, gt, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { Redactor } from '../audit/redaction.js';
import type { Database, Executor } from '../db/client.js';
import { actionRequests, auditEvents, consumerPositions, webhookDeliveries, webhooks } from '../db/schema.js';
import { WebhookEvent, type AuditEventType } from '../vocabulary.js';
import { requestView, webhookBody } from './payload.js';

/** The stored position of the consumer that turns sealed audit events into webhook deliveries. */
export const WEBHOOK_CONSUMER = 'webhooks';
/** Sealed events read per transaction. */
export const OUTBOX_BATCH = 500;

/** Which webhook event an audit event is, if any. */
const EVENT_OF = new Map<AuditEventType, WebhookEvent>(
  (Object.entries(WebhookEvent) as [WebhookEvent, readonly AuditEventType[]][]).flatMap(([name, types]) =>
    types.map((type) => [type, name] as const),
  ),
);

/**
 * The consumer's position, its row locked until the transaction ends: consumers take turns, and
 * a webhook being created waits for a batch under way (and the batch for it), so the position it
 * starts from is exactly where the consumer is.
 */
export async function lockPosition(tx: Executor): Promise<number> {
  await tx.insert(consumerPositions).values({ name: WEBHOOK_CONSUMER, lastSeq: 0 }).onConflictDoNothing();
  const [position] = await tx.select().from(consumerPositions).where(eq(consumerPositions.name, WEBHOOK_CONSUMER)).for('update');
  return position!.lastSeq;
}

export const webhookEventOf = (type: AuditEventType): WebhookEvent | undefined => EVENT_OF.get(type);

/**
 * Moves the consumer forward over the next sealed audit events: each event that names a webhook
 * event becomes one delivery per live endpoint subscribed to it (registered before the consumer passed it), all
 * inserted in the transaction that stores the new position. The position row is locked for the
 * transaction, so instances take turns and every event is enqueued exactly once, whatever
 * crashes: either the deliveries and the position commit together, or neither does.
 *
 * Returns how many events it read (OUTBOX_BATCH means more may be waiting).
 */
export async function enqueueDeliveries(deps: { db: Database; redactor: Redactor; publicUrl: string | undefined }): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const position = await lockPosition(tx);
    const events = await tx
      .select()
      .from(auditEvents)
      .where(and(isNotNull(auditEvents.seq), gt(auditEvents.seq, position)))
      .orderBy(asc(auditEvents.seq))
      .limit(OUTBOX_BATCH);
    if (events.length === 0) return 0;
    const endpoints = await tx.select().from(webhooks).where(isNull(webhooks.deletedAt));
    const wanted = events.filter((event) => webhookEventOf(event.type) !== undefined);
    if (endpoints.length > 0 && wanted.length > 0) {
      const requestIds = [...new Set(wanted.flatMap((event) => (event.requestId ? [event.requestId] : [])))];
      const requests = requestIds.length ? await tx.select().from(actionRequests).where(inArray(actionRequests.id, requestIds)) : [];
      const byId = new Map(requests.map((request) => [request.id, requestView(deps.redactor, request)]));
      const rows = wanted.flatMap((event) => {
        const type = webhookEventOf(event.type)!;
        const listening = endpoints.filter(
          (endpoint) => (endpoint.events.includes('*') || endpoint.events.includes(type)) && event.seq! > endpoint.fromSeq,
        );
        if (listening.length === 0) return [];
        const body = webhookBody(
          type,
          { ...event, seq: event.seq! },
          event.requestId ? (byId.get(event.requestId) ?? null) : null,
          deps.publicUrl,
        );
        return listening.map((endpoint) => ({
          webhookId: endpoint.id,
          eventSeq: event.seq!,
          eventType: type,
          requestId: event.requestId,
          payload: body as unknown as Record<string, unknown>,
        }));
      });
      if (rows.length > 0) await tx.insert(webhookDeliveries).values(rows).onConflictDoNothing();
    }
    await tx
      .update(consumerPositions)
      .set({ lastSeq: events.at(-1)!.seq! })
      .where(eq(consumerPositions.name, WEBHOOK_CONSUMER));
    return events.length;
  });
}

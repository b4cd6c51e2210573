import { and, asc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Redactor } from '../audit/redaction.js';
import type { Database, Executor } from '../db/client.js';
import { actionRequests, auditEvents, consumerPositions, webhookDeliveries, webhooks } from '../db/schema.js';
import { NOTIFIER_APPLICATION_NAME } from '../events/log.js';
import { WebhookEvent, type AuditEventType } from '../vocabulary.js';
import { requestView, webhookBody } from './payload.js';

/** The stored position of the consumer that turns sealed audit events into webhook deliveries. */
export const WEBHOOK_CONSUMER = 'webhooks';
/** Sealed events read per transaction. */
export const OUTBOX_BATCH = 500;
/** Delivery rows per INSERT. */
const INSERT_CHUNK = 2_000;

/** Which webhook event an audit event is, if any. */
const EVENT_OF = new Map<AuditEventType, WebhookEvent>(
  (Object.entries(WebhookEvent) as [WebhookEvent, readonly AuditEventType[]][]).flatMap(([name, types]) =>
    types.map((type) => [type, name] as const),
  ),
);

/**
 * Marks a transaction of the notifier's (it writes no audit event), so live delivery does not
 * wait for it to end (see `settledBelow`): the consumer's lock waits would otherwise hold every
 * subscriber back.
 */
export async function notifierTransaction(tx: Executor): Promise<void> {
  await tx.execute(sql`SELECT set_config('application_name', ${NOTIFIER_APPLICATION_NAME}, true)`);
}

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
  // Most ticks find nothing new: say so without a write transaction or a lock.
  const [state] = (
    (await deps.db.execute(sql`
      SELECT (SELECT last_seq FROM consumer_positions WHERE name = ${WEBHOOK_CONSUMER}) AS position,
             (SELECT max(seq) FROM audit_events) AS head
    `)) as unknown as { rows: { position: string | number | null; head: string | number | null }[] }
  ).rows;
  if (state && state.position !== null && Number(state.head ?? 0) <= Number(state.position)) return 0;
  return deps.db.transaction(async (tx) => {
    await notifierTransaction(tx);
    const position = await lockPosition(tx);
    const endpoints = await tx.select().from(webhooks).where(isNull(webhooks.deletedAt));
    if (endpoints.length === 0) {
      // Nobody listens: move to the head. A webhook created meanwhile waits for this lock and
      // starts from the new position, so it misses nothing it should hear.
      await tx
        .update(consumerPositions)
        .set({ lastSeq: sql`GREATEST(${consumerPositions.lastSeq}, (SELECT coalesce(max(seq), 0) FROM audit_events))` })
        .where(eq(consumerPositions.name, WEBHOOK_CONSUMER));
      return 0;
    }
    const events = await tx
      .select()
      .from(auditEvents)
      .where(and(isNotNull(auditEvents.seq), gt(auditEvents.seq, position)))
      .orderBy(asc(auditEvents.seq))
      .limit(OUTBOX_BATCH);
    if (events.length === 0) return 0;
    const wanted = events.filter((event) => webhookEventOf(event.type) !== undefined);
    if (wanted.length > 0) {
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
      // In chunks: one statement may bind at most 65,535 parameters (five per row here).
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await tx
          .insert(webhookDeliveries)
          .values(rows.slice(i, i + INSERT_CHUNK))
          .onConflictDoNothing();
      }
    }
    await tx
      .update(consumerPositions)
      .set({ lastSeq: events.at(-1)!.seq! })
      .where(eq(consumerPositions.name, WEBHOOK_CONSUMER));
    return events.length;
  });
}

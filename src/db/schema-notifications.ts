import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { principals } from './schema.js';

// Webhooks and what they owe: endpoints, one delivery per (endpoint, audit event), each attempt,
// and the stored position of the durable consumer that turns sealed audit events into
// deliveries. Apart from schema.ts only to keep files short; schema.ts re-exports them.

/** An endpoint an ADMIN registered to hear of events, signed with its secret (Standard Webhooks). */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    url: text('url').notNull(),
    /** Event names (`action.approved`), or `*` for every one. */
    events: text('events').array().notNull(),
    /** `JSON` (signed Standard Webhooks) or `SLACK` (an incoming-webhook message). */
    format: text('format').notNull(),
    description: text('description'),
    /** `whsec_…`: the HMAC key, kept to sign (protect the database as the secrets it holds). */
    secret: text('secret').notNull(),
    /** After a rotation, the old secret signs alongside the new one until `previousSecretUntil`. */
    previousSecret: text('previous_secret'),
    previousSecretUntil: timestamp('previous_secret_until', { withTimezone: true }),
    /** The consumer's position when it was created: it hears of every sealed event after it, and of none before. */
    fromSeq: bigint('from_seq', { mode: 'number' }).notNull(),
    createdById: uuid('created_by_id')
      .notNull()
      .references(() => principals.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Deleted endpoints keep their history; nothing more is enqueued or sent to them. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [check('webhooks_format_check', sql`${t.format} IN ('JSON', 'SLACK')`)],
);

/**
 * What one endpoint is owed for one audit event: enqueued by the consumer in the transaction
 * that moves its position, then sent (and retried) by whichever instance leases it.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id),
    /** The audit event's place in the chain: deliveries to one endpoint go out in this order per request. */
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull(),
    /** The webhook event name (`action.approved`). */
    eventType: text('event_type').notNull(),
    requestId: uuid('request_id'),
    /** The event as sent (type, time, data): fixed when enqueued, so every retry sends the same body. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /** PENDING (to send or retry), DELIVERED, or DEAD (retries exhausted). */
    status: text('status').notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** Held by an instance sending it until then; a crash frees it when the lease runs out. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** Set with each lease: only the holder of this lease may record the try's outcome. */
    leaseToken: uuid('lease_token'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_idx').on(t.webhookId, t.eventSeq),
    index('webhook_deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'PENDING'`),
    index('webhook_deliveries_order_idx')
      .on(t.webhookId, t.requestId, t.eventSeq)
      .where(sql`${t.status} = 'PENDING'`),
    check('webhook_deliveries_status_check', sql`${t.status} IN ('PENDING', 'DELIVERED', 'DEAD')`),
  ],
);

/** Each try of a delivery: when, the answer's status, how long it took, what failed. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull().defaultNow(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId)],
);

/** Where each durable consumer of the sealed audit log has got to (`seq` of the last event it handled). */
export const consumerPositions = pgTable('consumer_positions', {
  name: text('name').primaryKey(),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
});

export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

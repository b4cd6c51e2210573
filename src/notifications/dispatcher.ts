import { and, eq, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { WebhookConfig } from '../config.js';
import type { Database } from '../db/client.js';
import { webhookAttempts, webhookDeliveries } from '../db/schema.js';
import { notifierTransaction } from './outbox.js';
import { slackMessage, type WebhookBody } from './payload.js';
import { send, type SendResult } from './sender.js';

/**
 * How long a claimed delivery is held by the instance sending it: three times the 10 s send
 * timeout. A sender that dies mid-send frees it when the lease runs out, and another sends it.
 */
const LEASE_SECONDS = 30;
/** The longest wait between two tries. */
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;
/** Deliveries one endpoint may have in flight from one instance: a slow endpoint holds at most these. */
export const PER_ENDPOINT_IN_FLIGHT = 2;

/** A delivery claimed for sending, with what is needed to send it. */
export interface ClaimedDelivery {
  id: string;
  /** This claim's lease: the outcome is recorded only while it still holds. */
  leaseToken: string;
  webhookId: string;
  url: string;
  format: string;
  secret: string;
  /** The previous secret while its grace period runs, to sign alongside. */
  previousSecret: string | null;
  payload: WebhookBody;
  attempts: number;
  /** Milliseconds since it was enqueued (database time), to know when retries are over. */
  ageMs: number;
}

/**
 * Claims due deliveries with a lease (`FOR UPDATE SKIP LOCKED`: instances never claim the same
 * one). A delivery waits while an earlier one to the same endpoint for the same request is still
 * pending, so each endpoint hears of a request in order. At most PER_ENDPOINT_IN_FLIGHT per
 * endpoint are taken, none for the endpoints in `busy`, so a slow endpoint never takes every slot.
 */
export async function claimDeliveries(db: Database, busy: readonly string[], limit: number): Promise<ClaimedDelivery[]> {
  if (limit <= 0) return [];
  const result = (await db.transaction(async (tx) => {
    await notifierTransaction(tx);
    return tx.execute(sql`
    WITH candidates AS (
      SELECT d.id, row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.event_seq) AS rank
      FROM webhook_deliveries d
      JOIN webhooks w ON w.id = d.webhook_id AND w.deleted_at IS NULL
      WHERE d.status = 'PENDING'
        AND d.next_attempt_at <= now()
        AND (d.lease_until IS NULL OR d.lease_until < now())
        AND NOT (d.webhook_id = ANY(${`{${busy.join(',')}}`}::uuid[]))
        AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries e
          WHERE e.webhook_id = d.webhook_id AND e.request_id IS NOT DISTINCT FROM d.request_id
            AND e.status = 'PENDING' AND e.event_seq < d.event_seq
        )
    ),
    claimed AS (
      UPDATE webhook_deliveries SET lease_until = now() + make_interval(secs => ${LEASE_SECONDS}), lease_token = gen_random_uuid()
      WHERE id IN (
        -- The lease is checked again on the locked row: another instance may have claimed it
        -- between this statement's snapshot and the lock (PostgreSQL re-checks only this WHERE).
        SELECT id FROM webhook_deliveries
        WHERE id IN (SELECT id FROM candidates WHERE rank <= ${PER_ENDPOINT_IN_FLIGHT})
          AND status = 'PENDING' AND (lease_until IS NULL OR lease_until < now())
        ORDER BY next_attempt_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING id, webhook_id, payload, attempts, created_at, lease_token
    )
    SELECT c.id, c.webhook_id, c.payload, c.attempts, c.lease_token,
           (extract(epoch FROM now() - c.created_at) * 1000)::float8 AS age_ms,
           w.url, w.format, w.secret,
           CASE WHEN w.previous_secret_until > now() THEN w.previous_secret END AS previous_secret
    FROM claimed c JOIN webhooks w ON w.id = c.webhook_id
  `);
  })) as unknown as {
    rows: {
      id: string;
      lease_token: string;
      webhook_id: string;
      payload: WebhookBody;
      attempts: number;
      age_ms: number;
      url: string;
      format: string;
      secret: string;
      previous_secret: string | null;
    }[];
  };
  return result.rows.map((row) => ({
    id: row.id,
    leaseToken: row.lease_token,
    webhookId: row.webhook_id,
    url: row.url,
    format: row.format,
    secret: row.secret,
    previousSecret: row.previous_secret,
    payload: row.payload,
    attempts: Number(row.attempts),
    ageMs: Number(row.age_ms),
  }));
}

/**
 * The Standard Webhooks headers: `webhook-id` (the delivery's id, the same on every retry, for
 * the receiver to drop duplicates), `webhook-timestamp` and `webhook-signature`, signed with the
 * current secret and, during a rotation's grace period, the previous one too.
 */
export function signedHeaders(delivery: Pick<ClaimedDelivery, 'id' | 'secret' | 'previousSecret'>, body: string, now = new Date()) {
  const signatures = [delivery.secret, ...(delivery.previousSecret ? [delivery.previousSecret] : [])].map((secret) =>
    new Webhook(secret).sign(delivery.id, now, body),
  );
  return {
    'webhook-id': delivery.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

/** The wait before the next try: the base, doubled per failure, with ±20 % jitter, at most an hour. */
export function retryDelayMs(baseMs: number, failures: number, random = Math.random()): number {
  const delay = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(delay * (0.8 + 0.4 * random));
}

/** Sends one claimed delivery (JSON signed, or a Slack message) and records the attempt. */
export async function deliver(
  db: Database,
  config: WebhookConfig,
  delivery: ClaimedDelivery,
): Promise<SendResult & { outcome: 'delivered' | 'failed' | 'dead' }> {
  const body = JSON.stringify(delivery.format === 'SLACK' ? slackMessage(delivery.payload) : delivery.payload);
  const headers = delivery.format === 'SLACK' ? {} : signedHeaders(delivery, body);
  const result = await send(delivery.url, headers, body, config.allowPrivate);
  const failures = delivery.attempts + 1;
  const delay = retryDelayMs(config.retryBaseMs, failures);
  const dead = result.error !== null && delivery.ageMs + delay > config.retryWindowMs;
  const attempts = sql`${webhookDeliveries.attempts} + 1`;
  await db.transaction(async (tx) => {
    await notifierTransaction(tx);
    await tx.insert(webhookAttempts).values({
      deliveryId: delivery.id,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error?.slice(0, 500) ?? null,
    });
    // Only the lease that sent it records the outcome: a lease that ran out (and was taken by
    // another instance, or reset by a redelivery) leaves the delivery to its new holder.
    await tx
      .update(webhookDeliveries)
      .set(
        result.error === null
          ? { status: 'DELIVERED', attempts, deliveredAt: sql`now()`, leaseUntil: null, leaseToken: null }
          : dead
            ? { status: 'DEAD', attempts, leaseUntil: null, leaseToken: null }
            : { attempts, nextAttemptAt: sql`now() + make_interval(secs => ${delay / 1000})`, leaseUntil: null, leaseToken: null },
      )
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.leaseToken, delivery.leaseToken)));
  });
  return { ...result, outcome: result.error === null ? 'delivered' : dead ? 'dead' : 'failed' };
}

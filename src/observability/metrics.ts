import { inArray, sql } from 'drizzle-orm';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.js';
import { actionRequests, type AuditEventRow } from '../db/schema.js';
import type { EventHub } from '../events/hub.js';
import { DECISION_EVENT_TYPES } from '../vocabulary.js';

/** What the WebSocket server reports at each scrape. */
export interface SocketStats {
  connections: number;
  /** Open subscriptions by root field (`pendingApprovals`, `actionDecided`, `auditEvents`). */
  subscriptions: Record<string, number>;
}

export interface Metrics {
  /** This app's registry (never prom-client's global one: several apps may share a process). */
  registry: Registry;
  /** Counts what a batch of events committed on this instance changed (call once per commit). */
  observeCommitted(events: readonly AuditEventRow[]): void;
  /** An HTTP GraphQL operation ended after `seconds`. */
  observeOperation(operation: string | null | undefined, seconds: number): void;
  /** A webhook delivery attempt ended. */
  observeDelivery(outcome: 'delivered' | 'failed' | 'dead'): void;
  /** Where the WebSocket server's numbers come from. */
  watchSockets(stats: () => SocketStats): void;
}

/** Operation names are the client's: at most this many distinct ones are labelled, the rest are `other`. */
const MAX_OPERATION_LABELS = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * One registry per app with Greenlight's metrics and the process's default ones. Counters move
 * at commit, on the instance that made the change (from the events it publishes), so summing
 * across instances counts each change once; gauges that describe the database are read from it
 * at scrape, cheaply.
 */
export function createMetrics(db: Database, hub: Pick<EventHub, 'position'>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const actionRequestsTotal = new Counter({
    name: 'greenlight_action_requests_total',
    help: 'Action requests made, by the policy effect and the status they had once the request committed.',
    labelNames: ['effect', 'status'] as const,
    registers,
  });
  const decisionsTotal = new Counter({
    name: 'greenlight_decisions_total',
    help: 'Requests leaving PENDING (or decided at once), by final status and who decided.',
    labelNames: ['status', 'decided_by'] as const,
    registers,
  });
  const timeToDecision = new Histogram({
    name: 'greenlight_time_to_decision_seconds',
    help: 'From request to decision, for requests a person, the deadline, the agent or an override decided.',
    buckets: [1, 5, 15, 30, 60, 300, 900, 1_800, 3_600, 14_400, 86_400],
    registers,
  });
  const httpDuration = new Histogram({
    name: 'greenlight_http_request_duration_seconds',
    help: 'GraphQL over HTTP, by operation name (at most 200 distinct names; others are "other").',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const webhookDeliveries = new Counter({
    name: 'greenlight_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, failed (will be retried) or dead (retries exhausted).',
    labelNames: ['outcome'] as const,
    registers,
  });

  let sockets: () => SocketStats = () => ({ connections: 0, subscriptions: {} });
  new Gauge({
    name: 'greenlight_websocket_connections',
    help: 'Open graphql-ws connections on this instance.',
    registers,
    collect() {
      this.set(sockets().connections);
    },
  });
  new Gauge({
    name: 'greenlight_subscriptions',
    help: 'Open subscriptions on this instance, by kind (root field).',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      this.reset();
      for (const [kind, count] of Object.entries(sockets().subscriptions)) this.set({ kind }, count);
    },
  });
  new Gauge({
    name: 'greenlight_event_hub_lag_seconds',
    help: 'Age of the oldest committed event this instance has not yet handed to its subscribers (0 when caught up).',
    registers,
    async collect() {
      const { txId, id } = hub.position();
      const [row] = await rows<{ lag: number | null }>(
        db,
        sql`SELECT extract(epoch FROM now() - min(created_at))::float8 AS lag FROM audit_events WHERE (tx_id, id) > (${txId}, ${id})`,
      );
      this.set(Math.max(0, Number(row?.lag ?? 0)));
    },
  });
  // One read for the database gauges of a scrape.
  let snapshot: Promise<Record<string, number>> | null = null;
  const read = () =>
    (snapshot ??= rows<Record<string, number>>(
      db,
      sql`SELECT
        (SELECT count(*) FROM action_requests WHERE status = 'PENDING')::int AS pending,
        (SELECT count(*) FROM audit_events WHERE seq IS NULL)::int AS unsealed,
        coalesce((SELECT extract(epoch FROM now() - min(created_at)) FROM audit_events WHERE seq IS NULL), 0)::float8 AS seal_lag,
        (SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING')::int AS queue`,
    )
      .then(([row]) => Object.fromEntries(Object.entries(row ?? {}).map(([key, value]) => [key, Number(value)])))
      .finally(() => setImmediate(() => (snapshot = null))));
  const fromDatabase = (name: string, help: string, key: string) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set((await read())[key] ?? 0);
      },
    });
  fromDatabase('greenlight_pending_requests', 'Requests waiting for reviewers (from the database).', 'pending');
  fromDatabase('greenlight_audit_unsealed_events', 'Committed audit events not yet chained by the sealer.', 'unsealed');
  fromDatabase('greenlight_audit_seal_lag_seconds', 'Age of the oldest unsealed audit event (0 when all are sealed).', 'seal_lag');
  fromDatabase('greenlight_webhook_queue_depth', 'Webhook deliveries waiting to be sent or retried.', 'queue');

  const operations = new Set<string>();
  return {
    registry,
    observeCommitted(events) {
      const decided = new Map<string, AuditEventRow>();
      for (const event of events) if (DECISION_EVENT_TYPES.has(event.type) && event.requestId) decided.set(event.requestId, event);
      for (const event of events) {
        if (event.type !== 'ACTION_REQUESTED' || !event.requestId) continue;
        const decision = decided.get(event.requestId);
        const escalated = events.some((other) => other.type === 'ACTION_ESCALATED' && other.requestId === event.requestId);
        const effect = escalated ? 'ESCALATE' : decision?.type === 'ACTION_BLOCKED' ? 'BLOCK' : 'ALLOW';
        actionRequestsTotal.inc({ effect, status: decision ? String(decision.data['status']) : 'PENDING' });
      }
      const timed: AuditEventRow[] = [];
      for (const event of decided.values()) {
        decisionsTotal.inc({ status: String(event.data['status']), decided_by: String(event.data['decidedBy']) });
        if (event.data['decidedBy'] !== 'POLICY') timed.push(event);
      }
      if (timed.length === 0) return;
      // Off the request path: when the requests were made is read after the commit.
      db.select({ id: actionRequests.id, createdAt: actionRequests.createdAt })
        .from(actionRequests)
        .where(
          inArray(
            actionRequests.id,
            timed.map((event) => event.requestId!),
          ),
        )
        .then((made) => {
          const at = new Map(made.map((row) => [row.id, row.createdAt.getTime()]));
          for (const event of timed) {
            const start = at.get(event.requestId!);
            if (start !== undefined) timeToDecision.observe(Math.max(0, (event.createdAt.getTime() - start) / 1_000));
          }
        })
        .catch(() => undefined);
    },
    observeOperation(operation, seconds) {
      let name = operation && OPERATION_NAME.test(operation) ? operation : 'anonymous';
      if (!operations.has(name)) {
        if (operations.size >= MAX_OPERATION_LABELS) name = 'other';
        else operations.add(name);
      }
      httpDuration.observe({ operation: name }, seconds);
    },
    observeDelivery(outcome) {
      webhookDeliveries.inc({ outcome });
    },
    watchSockets(stats) {
      sockets = stats;
    },
  };
}

async function rows<T>(db: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** The hub as the app uses it: each batch published here (committed on this instance) is counted first. */
export function countingPublishes(hub: EventHub, metrics: Pick<Metrics, 'observeCommitted'>): EventHub {
  return {
    ...hub,
    publish(events) {
      hub.publish(events);
      // Counting never stands in the way of delivery.
      try {
        metrics.observeCommitted(events);
      } catch {
        // A metric lost, nothing else.
      }
    },
  };
}

import type { Executor } from '../db/client.js';
import { auditEvents, type AuditEventRow } from '../db/schema.js';
import type { NewAuditEvent } from './events.js';

/**
 * Appends audit events. Call it with the transaction that makes the change the events record,
 * so the change and its record commit (or roll back) together.
 */
export async function appendAuditEvents(tx: Executor, events: NewAuditEvent[]): Promise<AuditEventRow[]> {
  if (events.length === 0) return [];
  return tx
    .insert(auditEvents)
    .values(
      events.map((event) => ({
        type: event.type,
        actorId: event.actorId,
        requestId: event.requestId ?? null,
        data: event.data as Record<string, unknown>,
      })),
    )
    .returning();
}

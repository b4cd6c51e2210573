import type { Executor } from '../db/client.js';
import { auditEvents, auditRedactedValues, type AuditEventRow } from '../db/schema.js';
import type { NewAuditEvent } from './events.js';

/**
 * Appends audit events. Call it with the transaction that makes the change the events record,
 * so the change and its record commit (or roll back) together. Values a policy redacted from an
 * event's data are stored beside it (`audit_redacted_values`), in the same transaction.
 */
export async function appendAuditEvents(tx: Executor, events: NewAuditEvent[]): Promise<AuditEventRow[]> {
  if (events.length === 0) return [];
  const rows = await tx
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
  // PostgreSQL returns the rows of one INSERT … VALUES in the order given.
  const redacted = events.flatMap((event, i) => (event.redacted?.length ? [{ eventId: rows[i]!.id, redacted: event.redacted }] : []));
  if (redacted.length > 0) await tx.insert(auditRedactedValues).values(redacted);
  return rows;
}

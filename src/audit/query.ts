import { and, asc, eq, gt, gte, inArray, lt, max, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { auditEvents, type AuditEventRow } from '../db/schema.js';
import type { AuditEventType } from '../vocabulary.js';

export interface AuditEventFilter {
  requestId?: string | null | undefined;
  actorId?: string | null | undefined;
  types?: AuditEventType[] | null | undefined;
  since?: Date | null | undefined;
  until?: Date | null | undefined;
}

export function auditFilterConditions(filter: AuditEventFilter | null | undefined): SQL[] {
  const conditions: SQL[] = [];
  if (filter?.requestId) conditions.push(eq(auditEvents.requestId, filter.requestId));
  if (filter?.actorId) conditions.push(eq(auditEvents.actorId, filter.actorId));
  if (filter?.types?.length) conditions.push(inArray(auditEvents.type, filter.types));
  if (filter?.since) conditions.push(gte(auditEvents.createdAt, filter.since));
  if (filter?.until) conditions.push(lt(auditEvents.createdAt, filter.until));
  return conditions;
}

/** True when an event satisfies the filter; the in-memory twin of `auditFilterConditions`. */
export function matchesAuditFilter(event: AuditEventRow, filter: AuditEventFilter | null | undefined): boolean {
  if (filter?.requestId && event.requestId !== filter.requestId) return false;
  if (filter?.actorId && event.actorId !== filter.actorId) return false;
  if (filter?.types?.length && !filter.types.includes(event.type)) return false;
  if (filter?.since && event.createdAt < filter.since) return false;
  if (filter?.until && event.createdAt >= filter.until) return false;
  return true;
}

/** A page of audit events in append order, strictly after `afterId` (keyset, never OFFSET). */
export async function listAuditEvents(
  db: Executor,
  filter: AuditEventFilter | null | undefined,
  page: { afterId: number | null; limit: number },
): Promise<AuditEventRow[]> {
  const conditions = auditFilterConditions(filter);
  if (page.afterId !== null) conditions.push(gt(auditEvents.id, page.afterId));
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(asc(auditEvents.id))
    .limit(page.limit);
}

/** The id of the newest audit event: a stream position to resume subscriptions from. */
export async function currentAuditPosition(db: Executor): Promise<number> {
  const [row] = await db.select({ id: max(auditEvents.id) }).from(auditEvents);
  return row?.id ?? 0;
}

import { and, asc, desc, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { auditEvents, type AuditEventRow } from '../db/schema.js';

/**
 * The live order of the audit log. Every event records its transaction's id (`tx_id`); events are
 * delivered in (tx_id, id) order, and an event is *settled* once every transaction with a lower
 * id has ended (`tx_id` below the snapshot's xmin). Reading settled events only, in that order, a
 * reader that has passed a position can never later find an event before it: a transaction that
 * commits late holds the readers back instead of being skipped. Every instance, and every
 * subscription's replay, reads the same order, so a position is a cursor valid everywhere.
 */
export interface EventPosition {
  txId: number;
  id: number;
}

/** Before every event. */
export const START_POSITION: EventPosition = { txId: 0, id: 0 };

export const positionOf = (event: Pick<AuditEventRow, 'txId' | 'id'>): EventPosition => ({ txId: event.txId, id: event.id });

export function comparePositions(a: EventPosition, b: EventPosition): number {
  return a.txId - b.txId || a.id - b.id;
}

/** The oldest transaction still running: every event of a lower transaction is settled. */
export const SNAPSHOT_XMIN = sql`(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)`;
export const afterPosition = (after: EventPosition): SQL => sql`(${auditEvents.txId}, ${auditEvents.id}) > (${after.txId}, ${after.id})`;

/**
 * Up to `limit` settled events after `after`, in live order, filtered by `where`. `held` is true
 * when a committed event after them is not settled yet (a lower transaction is still running):
 * read again shortly.
 */
export async function readSettled(
  db: Executor,
  after: EventPosition,
  limit: number,
  where?: SQL,
): Promise<{ events: AuditEventRow[]; held: boolean }> {
  const rows = await db
    .select({ ...getTableColumns(auditEvents), settled: sql<boolean>`${auditEvents.txId} < ${SNAPSHOT_XMIN}` })
    .from(auditEvents)
    .where(and(afterPosition(after), where))
    .orderBy(asc(auditEvents.txId), asc(auditEvents.id))
    .limit(limit);
  // Unsettled rows sort after every settled one (their tx_id is at or above xmin): a prefix is settled.
  const cut = rows.findIndex((row) => !row.settled);
  const settled = cut === -1 ? rows : rows.slice(0, cut);
  return { events: settled.map(({ settled: _settled, ...event }) => event), held: cut !== -1 };
}

/** The position of the newest settled event: everything at or before it can be read now. */
export async function settledHead(db: Executor): Promise<EventPosition> {
  const [row] = await db
    .select({ txId: auditEvents.txId, id: auditEvents.id })
    .from(auditEvents)
    .where(sql`${auditEvents.txId} < ${SNAPSHOT_XMIN}`)
    .orderBy(desc(auditEvents.txId), desc(auditEvents.id))
    .limit(1);
  return row ?? START_POSITION;
}

/** The position of one event, by id (to resume from a cursor that names an event by id only). */
export async function positionOfEvent(db: Executor, id: number): Promise<EventPosition | null> {
  const [row] = await db.select({ txId: auditEvents.txId, id: auditEvents.id }).from(auditEvents).where(sql`${auditEvents.id} = ${id}`);
  return row ?? null;
}

import { and, asc, desc, getTableColumns, sql, type SQL } from 'drizzle-orm';
import { pgliteClientOf, type Database, type Executor } from '../db/client.js';
import { actionRequests, auditEvents, type ActionRequestRow, type AuditEventRow } from '../db/schema.js';
import { rowFromJson, runStatement, type Statement } from '../db/statement.js';
import type { AuditEventType } from '../vocabulary.js';

/**
 * The live order of the audit log. Every event records its transaction's id (`tx_id`); events are
 * delivered in (tx_id, id) order, and an event is *settled* once every transaction of this
 * database with a lower id has ended (see `settledBelow`). Reading settled events only, in that
 * order, a reader that has passed a position can never later find an event before it: a
 * transaction that commits late holds the readers back instead of being skipped. Every instance,
 * and every subscription's replay, reads the same order, so a position is a cursor valid everywhere.
 */
export interface EventPosition {
  txId: number;
  id: number;
}

/** Before every event. */
export const START_POSITION: EventPosition = { txId: 0, id: 0 };

/** An event's place in the live order. */
export const positionOf = (event: Pick<AuditEventRow, 'txId' | 'id'>): EventPosition => ({ txId: event.txId, id: event.id });

/** Negative when `a` comes before `b` in the live order, 0 when they are the same place, positive after. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  return a.txId - b.txId || a.id - b.id;
}

/** The oldest transaction still running anywhere on the server (a conservative bound for replay starts). */
export const SNAPSHOT_XMIN = sql`(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)`;
/** SQL condition: the event comes after `after` in the live order. */
export const afterPosition = (after: EventPosition): SQL => sql`(${auditEvents.txId}, ${auditEvents.id}) > (${after.txId}, ${after.id})`;

/**
 * `application_name` of the audit sealer's transactions (set for each one). The sealer never
 * inserts audit events, it only places committed ones in the chain, so its transactions are not
 * waited for: they would hold live delivery back for the few milliseconds each tick runs.
 */
export const SEALER_APPLICATION_NAME = 'greenlight-audit-sealer';

/**
 * `application_name` of the webhook consumer's and dispatcher's transactions: like the sealer's,
 * they write no audit event (only deliveries and their attempts), so they are not waited for.
 */
export const NOTIFIER_APPLICATION_NAME = 'greenlight-webhooks';

/** A bound above every transaction id: everything visible is settled. */
const ALL_SETTLED = Number.MAX_SAFE_INTEGER;

/**
 * SQL (a scalar subquery, no parameters): the transaction id below which every transaction that
 * could write this database's events had ended when the statement that evaluates it took its
 * snapshot. So everything that bound vouches for is visible to that same statement: the log is
 * read and judged in one statement. It is the lowest of:
 * - the snapshot's xmax: transactions that got their id since are still to be waited for;
 * - the ids of the transactions the snapshot saw running (`xip`), except those `pg_stat_activity`
 *   shows belong to another database, to a process that is not a client's (autovacuum's ANALYZE,
 *   for one), or to the audit sealer or the webhook notifier (they insert no events, see
 *   `SEALER_APPLICATION_NAME`).
 * Transaction ids are cluster-wide, so the plain xmin would make a long transaction of any other
 * database on the same server (a bulk load, a migration elsewhere) hold Greenlight's live delivery
 * back for as long as it runs. A running id that `pg_stat_activity` does not show is waited for:
 * it ended after the snapshot was taken (its events are not visible to this statement), or its
 * session is hidden from this role (another role without `pg_read_all_stats`).
 * `backend_xid` is 32 bits: the snapshot's ids are compared modulo 2^32.
 */
const SETTLED_BOUND = `(SELECT least(pg_snapshot_xmax(snap)::text::bigint, (
    SELECT min(running::text::bigint) FROM pg_snapshot_xip(snap) AS running
    WHERE running::text::bigint % 4294967296 NOT IN (
      SELECT backend_xid::text::bigint FROM pg_stat_activity
      WHERE backend_xid IS NOT NULL AND (datname IS DISTINCT FROM current_database() OR backend_type <> 'client backend'
        OR application_name IN ('${SEALER_APPLICATION_NAME}', '${NOTIFIER_APPLICATION_NAME}')))))
  FROM pg_current_snapshot() AS snap)`;

/**
 * The settled bound (see SETTLED_BOUND) as a statement of its own: what it vouches for is visible
 * to any later statement.
 *
 * On PGlite's top-level handle no statement is needed. PGlite is one connection, and its `query`
 * and `exec` wait for any open transaction to end (its transaction mutex): a statement outside a
 * transaction never runs beside another one. So when it reads the log nothing is in progress,
 * every committed event is visible and any later transaction gets a higher id: all it sees is
 * settled. Inside a transaction (no top-level handle) the transaction's own events are not yet
 * committed, so the query decides as on PostgreSQL.
 */
export async function settledBelow(db: Executor): Promise<number> {
  if (pgliteClientOf(db)) return ALL_SETTLED;
  const result = (await db.execute(sql.raw(`SELECT ${SETTLED_BOUND}::text AS below`))) as unknown as { rows: { below: string }[] };
  return Number(result.rows[0]!.below);
}

/** SQL condition: the event is settled, judged within the statement that reads it. */
const settled = (db: Executor): SQL<boolean> =>
  pgliteClientOf(db) ? sql<boolean>`true` : sql<boolean>`${auditEvents.txId} < ${sql.raw(SETTLED_BOUND)}`;

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
    .select({ ...getTableColumns(auditEvents), settled: settled(db) })
    .from(auditEvents)
    .where(and(afterPosition(after), where))
    .orderBy(asc(auditEvents.txId), asc(auditEvents.id))
    .limit(limit);
  return settledPrefix(rows, ({ settled: _settled, ...event }) => event);
}

/**
 * Unsettled rows sort after every settled one (their tx_id is at or above the bound): a prefix of
 * the rows read is settled, and anything after it is held back.
 */
function settledPrefix<Row extends { settled: boolean }>(
  rows: Row[],
  toEvent: (row: Row) => AuditEventRow,
): { events: AuditEventRow[]; held: boolean } {
  const cut = rows.findIndex((row) => !row.settled);
  return { events: (cut === -1 ? rows : rows.slice(0, cut)).map(toEvent), held: cut !== -1 };
}

/** A page of the hub's read: settled events, and the requests of those it was asked for. */
export interface LivePage {
  events: AuditEventRow[];
  held: boolean;
  /** By event id: the request each event of the `requestsFor` types is about, as of this read. */
  requests: Map<number, ActionRequestRow>;
}

/**
 * The hub's read: `readSettled` without a filter, on the database's top-level handle, as a
 * prepared statement (the hub reads after nearly every write under load, so its text is parsed
 * once rather than built and parsed per read). For events of the `requestsFor` types it also
 * reads the request each is about, in the same statement (what the live streams judge
 * eligibility and build payloads from), instead of a second round trip.
 */
export async function readSettledLive(
  db: Database,
  after: EventPosition,
  limit: number,
  requestsFor: readonly AuditEventType[] = [],
): Promise<LivePage> {
  const read = pgliteClientOf(db) ? LIVE_READ_ALL_SETTLED : LIVE_READ;
  const rows = await runStatement<{ event: Record<string, unknown>; settled: boolean; request: Record<string, unknown> | null }>(db, read, [
    after.txId,
    after.id,
    limit,
    `{${requestsFor.join(',')}}`,
  ]);
  const requests = new Map<number, ActionRequestRow>();
  const page = settledPrefix(rows, (row) => {
    const event = rowFromJson(auditEvents, row.event);
    if (row.request) requests.set(event.id, rowFromJson(actionRequests, row.request));
    return event;
  });
  return { ...page, requests };
}

const liveRead = (name: string, settledWhen: string): Statement => ({
  name,
  text: `SELECT to_jsonb(e) AS event, ${settledWhen} AS settled,
    CASE WHEN e.request_id IS NOT NULL AND e.type = ANY($4::audit_event_type[])
      THEN (SELECT to_jsonb(r) FROM action_requests r WHERE r.id = e.request_id) END AS request
    FROM audit_events e
    WHERE (e.tx_id, e.id) > ($1::bigint, $2::bigint) ORDER BY e.tx_id, e.id LIMIT $3::int`,
});
const LIVE_READ = liveRead('greenlight_live_read_v3', `e.tx_id < ${SETTLED_BOUND}`);
// PGlite's top-level handle: everything visible is settled (see `settledBelow`).
const LIVE_READ_ALL_SETTLED = liveRead('greenlight_live_read_pglite_v3', 'true');

/** The position of the newest settled event: everything at or before it can be read now. */
export async function settledHead(db: Executor): Promise<EventPosition> {
  const [row] = await db
    .select({ txId: auditEvents.txId, id: auditEvents.id })
    .from(auditEvents)
    .where(settled(db))
    .orderBy(desc(auditEvents.txId), desc(auditEvents.id))
    .limit(1);
  return row ?? START_POSITION;
}

/** The position of one event, by id (to resume from a cursor that names an event by id only). */
export async function positionOfEvent(db: Executor, id: number): Promise<EventPosition | null> {
  const [row] = await db
    .select({ txId: auditEvents.txId, id: auditEvents.id })
    .from(auditEvents)
    .where(sql`${auditEvents.id} = ${id}`);
  return row ?? null;
}

import { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, like, lt, or, sql, type SQL } from 'drizzle-orm';
import { RE2JS } from 're2js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Executor } from '../db/client.js';
import { escapeLike } from '../db/like.js';
import { actionRequests, auditEvents, type AuditEventRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { InvalidInputError } from '../errors.js';
import { SNAPSHOT_XMIN, type EventPosition } from '../events/log.js';
import { DECISION_EVENT_TYPES, type ActionStatus, type AuditEventType } from '../vocabulary.js';

export interface AuditEventFilter {
  requestId?: string | null | undefined;
  /** The agent a request event concerns (`data.agentId`). */
  agentId?: string | null | undefined;
  actorId?: string | null | undefined;
  types?: AuditEventType[] | null | undefined;
  /** A glob over the request's action: `*` matches any run of characters, `?` one. */
  action?: string | null | undefined;
  /** The request's resource starts with this. */
  resourcePrefix?: string | null | undefined;
  /** Decision events (approved, blocked, rejected, expired, cancelled) with one of these outcomes. */
  decisions?: ActionStatus[] | null | undefined;
  since?: Date | null | undefined;
  until?: Date | null | undefined;
}

export type AuditOrder = 'SEQ_ASC' | 'SEQ_DESC';

/** `deploy.*` → `deploy.%`: the glob as a LIKE pattern, its own `%` and `_` escaped. */
export function globToLike(glob: string): string {
  return escapeLike(glob).replace(/\*/g, '%').replace(/\?/g, '_');
}

const agentOf = sql<string | null>`(${auditEvents.data} ->> 'agentId')`;
const statusOf = sql<string | null>`(${auditEvents.data} ->> 'status')`;

export function auditFilterConditions(filter: AuditEventFilter | null | undefined): SQL[] {
  const conditions: SQL[] = [];
  if (!filter) return conditions;
  if (filter.requestId) conditions.push(eq(auditEvents.requestId, filter.requestId));
  if (filter.agentId) conditions.push(sql`${agentOf} = ${filter.agentId}`);
  if (filter.actorId) conditions.push(eq(auditEvents.actorId, filter.actorId));
  // Vocabulary lists are deduplicated: however long the input, the statement stays small.
  if (filter.types?.length) conditions.push(inArray(auditEvents.type, [...new Set(filter.types)]));
  if (filter.decisions?.length)
    conditions.push(
      sql`${statusOf} IN (${sql.join(
        [...new Set(filter.decisions)].map((d) => sql`${d}`),
        sql`, `,
      )})`,
    );
  if (filter.since) conditions.push(gte(auditEvents.createdAt, filter.since));
  if (filter.until) conditions.push(lt(auditEvents.createdAt, filter.until));
  if (filter.action || filter.resourcePrefix) {
    const request: SQL[] = [];
    if (filter.action) request.push(like(actionRequests.action, globToLike(filter.action)));
    if (filter.resourcePrefix) request.push(like(actionRequests.resource, `${escapeLike(filter.resourcePrefix)}%`));
    conditions.push(inArray(auditEvents.requestId, sql`(SELECT ${actionRequests.id} FROM ${actionRequests} WHERE ${and(...request)})`));
  }
  return conditions;
}

/**
 * The glob as an RE2 expression with the same meaning as `globToLike`, run by `re2js` in time
 * linear in the action: a subscriber's filter must not let it stall the server (a backtracking
 * `RegExp` of `*a*a*a*a*a*ab` runs for minutes on 205 characters).
 */
function globToRe2(glob: string): RE2JS {
  const source = [...glob]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : /[A-Za-z0-9]/.test(char) ? char : RE2JS.quote(char)))
    .join('');
  return RE2JS.compile(source, RE2JS.DOTALL);
}

/** What the in-memory filter needs to know of an event's request. */
export interface RequestFacts {
  action: string;
  resource: string;
}

/** Decides whether an event satisfies a filter; its request's facts are given when the filter needs them. */
export type AuditEventMatcher = (event: AuditEventRow, request?: RequestFacts | null) => boolean;

/**
 * The in-memory twin of `auditFilterConditions`, for live events, compiled once per filter. The
 * matcher needs the event's request when the filter names an action or a resource
 * (`filterNeedsRequest`).
 */
export function auditFilterMatcher(filter: AuditEventFilter | null | undefined): AuditEventMatcher {
  if (!filter) return () => true;
  const action = filter.action ? globToRe2(filter.action) : null;
  return (event, request) => {
    if (filter.requestId && event.requestId !== filter.requestId) return false;
    if (filter.agentId && event.data['agentId'] !== filter.agentId) return false;
    if (filter.actorId && event.actorId !== filter.actorId) return false;
    if (filter.types?.length && !filter.types.includes(event.type)) return false;
    if (filter.decisions?.length && !filter.decisions.includes(event.data['status'] as ActionStatus)) return false;
    if (filter.since && event.createdAt < filter.since) return false;
    if (filter.until && event.createdAt >= filter.until) return false;
    if (action || filter.resourcePrefix) {
      if (!request) return false;
      if (action && !action.matches(request.action)) return false;
      if (filter.resourcePrefix && !request.resource.startsWith(filter.resourcePrefix)) return false;
    }
    return true;
  };
}

/** Whether the filter needs the event's request (see `auditFilterMatcher`). */
export function filterNeedsRequest(filter: AuditEventFilter | null | undefined): boolean {
  return !!(filter?.action || filter?.resourcePrefix);
}

/** The longest `action` glob and `resourcePrefix` a filter may hold: as long as a policy's glob and a request's resource. */
export const AUDIT_FILTER_LIMITS = { action: 256, resourcePrefix: 1_000 } as const;

/** Throws InvalidInputError when a filter's texts are longer than AUDIT_FILTER_LIMITS (compiling a huge glob takes seconds). */
export function assertAuditFilter(filter: AuditEventFilter | null | undefined): void {
  for (const field of ['action', 'resourcePrefix'] as const) {
    const value = filter?.[field];
    if (value && value.length > AUDIT_FILTER_LIMITS[field]) {
      throw InvalidInputError.of(`filter.${field}`, `must be at most ${AUDIT_FILTER_LIMITS[field]} characters`);
    }
  }
}

/** `listSealedAuditEvents` for a viewer who may read the log (AUDITOR, ADMIN). */
export async function readAuditEvents(
  deps: Pick<Deps, 'db'>,
  viewer: Principal,
  filter: AuditEventFilter | null | undefined,
  page: { afterSeq: number | null; limit: number; order: AuditOrder },
): Promise<AuditEventRow[]> {
  authorize(viewer, Permission.ReadAudit);
  assertAuditFilter(filter);
  return listSealedAuditEvents(deps.db, filter, page);
}

/**
 * A page of sealed audit events in chain order (`seq`), strictly after `afterSeq` in the given
 * direction: keyset pagination on the unique `seq`, served by the `(…, seq)` indexes. Events join
 * the chain within about a second of their commit, always after everything sealed before them,
 * so a client paging forward misses nothing.
 */
export async function listSealedAuditEvents(
  db: Executor,
  filter: AuditEventFilter | null | undefined,
  page: { afterSeq: number | null; limit: number; order: AuditOrder },
): Promise<AuditEventRow[]> {
  const conditions = [...auditFilterConditions(filter), isNotNull(auditEvents.seq)];
  if (page.afterSeq !== null)
    conditions.push(page.order === 'SEQ_ASC' ? gt(auditEvents.seq, page.afterSeq) : lt(auditEvents.seq, page.afterSeq));
  return db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(page.order === 'SEQ_ASC' ? asc(auditEvents.seq) : desc(auditEvents.seq))
    .limit(page.limit);
}

/**
 * Where a live-order replay must start for a client that saw the sealed chain up to `afterSeq`:
 * before the first event it has not seen (not sealed yet, or sealed after it), and before any
 * transaction still running (its events will commit with a lower position than later ones).
 * The replay then skips what the client saw (`seq <= afterSeq`).
 */
export async function replayStartAfterSeq(db: Executor, afterSeq: number): Promise<EventPosition> {
  const [row] = await db
    .select({ txId: sql<number>`LEAST(min(${auditEvents.txId}), ${SNAPSHOT_XMIN})`.mapWith(Number) })
    .from(auditEvents)
    .where(or(isNull(auditEvents.seq), gt(auditEvents.seq, afterSeq)));
  return { txId: row!.txId, id: 0 };
}

/** Where each request's decision event (the one that took it out of PENDING, or the policy's) sits in the live order. */
export async function decisionPositions(db: Executor, requestIds: readonly string[]): Promise<Map<string, EventPosition>> {
  if (requestIds.length === 0) return new Map();
  const rows = await db
    .select({ requestId: auditEvents.requestId, txId: auditEvents.txId, id: auditEvents.id })
    .from(auditEvents)
    .where(and(inArray(auditEvents.requestId, [...requestIds]), inArray(auditEvents.type, [...DECISION_EVENT_TYPES])));
  return new Map(rows.map((row) => [row.requestId!, { txId: row.txId, id: row.id }]));
}

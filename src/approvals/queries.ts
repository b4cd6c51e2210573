import { and, arrayOverlaps, asc, desc, eq, gt, inArray, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import { authorize, can, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Executor } from '../db/client.js';
import { actionRequests, reviews, type ActionRequestRow, type ReviewRow } from '../db/schema.js';
import { isUuid } from '../validation.js';
import type { ActionStatus } from '../vocabulary.js';
import { canView } from './eligibility.js';

/** The SQL twin of `reviewDenial(viewer, request) === null`. */
function reviewableBy(viewer: Principal): SQL | undefined {
  if (!can(viewer, Permission.ReviewAction)) return undefined;
  return and(
    eq(actionRequests.effect, 'ESCALATE'),
    ne(actionRequests.agentId, viewer.id),
    sql`${actionRequests.onBehalfOfId} IS DISTINCT FROM ${viewer.id}`,
    sql`${actionRequests.ownerId} IS DISTINCT FROM ${viewer.id}`,
    or(
      sql`cardinality(${actionRequests.requiredGroups}) = 0`,
      viewer.groups.length > 0 ? arrayOverlaps(actionRequests.requiredGroups, viewer.groups) : sql`false`,
    ),
  );
}

/** The SQL twin of `canView`. */
function visibleTo(viewer: Principal): SQL | undefined {
  if (can(viewer, Permission.ReadAudit)) return undefined;
  const reviewable = reviewableBy(viewer);
  return or(
    eq(actionRequests.agentId, viewer.id),
    eq(actionRequests.onBehalfOfId, viewer.id),
    eq(actionRequests.ownerId, viewer.id),
    ...(reviewable ? [reviewable] : []),
  );
}

export async function getActionRequest(db: Executor, viewer: Principal, id: string): Promise<ActionRequestRow | null> {
  if (!isUuid(id)) return null;
  const [row] = await db.select().from(actionRequests).where(eq(actionRequests.id, id)).limit(1);
  return row && canView(viewer, row) ? row : null;
}

export async function getActionRequestsByIds(db: Executor, ids: readonly string[]): Promise<ActionRequestRow[]> {
  return ids.length === 0
    ? []
    : db
        .select()
        .from(actionRequests)
        .where(inArray(actionRequests.id, [...ids]));
}

export interface ActionRequestFilter {
  statuses?: ActionStatus[] | null | undefined;
  agentId?: string | null | undefined;
  action?: string | null | undefined;
  resource?: string | null | undefined;
}

export interface PageRequest {
  /** Position of the last row of the previous page; null for the first page. */
  afterPosition: number | null;
  limit: number;
}

/** Requests the viewer may see, newest first, keyset-paginated by position. */
export async function listActionRequests(
  db: Executor,
  viewer: Principal,
  filter: ActionRequestFilter | null | undefined,
  page: PageRequest,
): Promise<ActionRequestRow[]> {
  const conditions: (SQL | undefined)[] = [visibleTo(viewer)];
  // Deduplicated: a list of 70,000 statuses names at most six.
  if (filter?.statuses?.length) conditions.push(inArray(actionRequests.status, [...new Set(filter.statuses)]));
  if (filter?.agentId) conditions.push(isUuid(filter.agentId) ? eq(actionRequests.agentId, filter.agentId) : sql`false`);
  // Stored values never contain NUL (input validation refuses it), and PostgreSQL would reject
  // it in a parameter: such a filter simply matches nothing.
  for (const [column, value] of [
    [actionRequests.action, filter?.action],
    [actionRequests.resource, filter?.resource],
  ] as const) {
    if (value) conditions.push(value.includes('\u0000') ? sql`false` : eq(column, value));
  }
  if (page.afterPosition !== null) conditions.push(lt(actionRequests.position, page.afterPosition));
  return db
    .select()
    .from(actionRequests)
    .where(and(...conditions))
    .orderBy(desc(actionRequests.position))
    .limit(page.limit);
}

/** PENDING requests the viewer may decide, oldest first (the queue's natural order). */
export async function listPendingApprovals(db: Executor, viewer: Principal, page: PageRequest): Promise<ActionRequestRow[]> {
  authorize(viewer, Permission.ReviewAction);
  const reviewable = reviewableBy(viewer)!;
  const conditions: SQL[] = [eq(actionRequests.status, 'PENDING'), reviewable];
  if (page.afterPosition !== null) conditions.push(gt(actionRequests.position, page.afterPosition));
  return db
    .select()
    .from(actionRequests)
    .where(and(...conditions))
    .orderBy(asc(actionRequests.position))
    .limit(page.limit);
}

export async function listReviewsForRequests(db: Executor, requestIds: readonly string[]): Promise<ReviewRow[]> {
  if (requestIds.length === 0) return [];
  return db
    .select()
    .from(reviews)
    .where(inArray(reviews.requestId, [...requestIds]))
    .orderBy(asc(reviews.createdAt), asc(reviews.id));
}

/** Each request's redaction paths, by request id (for masking its reviews' amended params). */
export async function listRedactPaths(db: Executor, requestIds: readonly string[]): Promise<Map<string, string[]>> {
  if (requestIds.length === 0) return new Map();
  const rows = await db
    .select({ id: actionRequests.id, redactPaths: actionRequests.redactPaths })
    .from(actionRequests)
    .where(inArray(actionRequests.id, [...requestIds]));
  return new Map(rows.map((row) => [row.id, row.redactPaths]));
}

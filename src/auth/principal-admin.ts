import { and, arrayOverlaps, asc, eq, gt, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent, PrincipalField } from '../audit/events.js';
import type { Transaction } from '../db/client.js';
import { escapeLike } from '../db/like.js';
import { ADVISORY_LOCKS } from '../db/locks.js';
import { actionRequests, principals } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import type { PrincipalKind, Role } from '../vocabulary.js';
import { authorize, Permission } from './permissions.js';
import { humanId, kindProblems, PrincipalFields } from './principals.js';
import type { Principal } from './roles.js';

/**
 * Runs a change to principal `principalId` in one transaction with its audit events. After the
 * commit this instance forgets what it cached of the principal (its open connections check their
 * sessions again, its subscriptions follow its new groups) and the event hub tells every other
 * instance, which does the same when it reads the events.
 */
export async function commitPrincipalChange<T>(
  deps: Pick<Deps, 'db' | 'hub' | 'auth'>,
  principalId: string,
  work: (tx: Transaction) => Promise<{ result: T; events: NewAuditEvent[] }>,
): Promise<T> {
  const { result, events } = await deps.db.transaction(async (tx) => {
    const { result, events } = await work(tx);
    return { result, events: await appendAuditEvents(tx, events) };
  });
  await deps.auth.principalChanged(principalId);
  deps.hub.publish(events);
  return result;
}

/**
 * Locks a principal for a change of its roles or state. The advisory lock first: two such changes
 * of different principals could otherwise each count the other as the ADMIN that remains.
 */
async function lockPrincipal(tx: Transaction, id: string): Promise<Principal> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.principalChanges})`);
  const [row] = isUuid(id) ? await tx.select().from(principals).where(eq(principals.id, id)).for('update') : [];
  if (!row) throw new NotFoundError('Principal', id);
  return row;
}

/** Refuses a change that would leave no enabled ADMIN: nobody could manage anything any more. */
async function keepAnAdministrator(tx: Transaction, principal: Principal, stillAdmin: boolean): Promise<void> {
  if (stillAdmin || !principal.roles.includes('ADMIN') || principal.disabledAt !== null) return;
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(principals)
    .where(and(sql`'ADMIN' = ANY(${principals.roles})`, isNull(principals.disabledAt), sql`${principals.id} <> ${principal.id}`));
  if (row!.n === 0) throw new ConflictError('This is the last enabled ADMIN: make another principal ADMIN first.');
}

export interface PrincipalFilter {
  kinds?: PrincipalKind[] | null | undefined;
  roles?: Role[] | null | undefined;
  groups?: string[] | null | undefined;
  disabled?: boolean | null | undefined;
  nameContains?: string | null | undefined;
}

/** Where a page of principals ends: they are listed by name, then id. */
export interface PrincipalPosition {
  name: string;
  id: string;
}

/** Principals by name in byte order (ADMIN), keyset-paginated on (name, id). */
export async function listPrincipals(
  deps: Pick<Deps, 'db'>,
  viewer: Principal,
  filter: PrincipalFilter | null | undefined,
  page: { after: PrincipalPosition | null; limit: number },
): Promise<Principal[]> {
  authorize(viewer, Permission.ReadPrincipals);
  const conditions: (SQL | undefined)[] = [];
  if (filter?.kinds?.length) conditions.push(inArray(principals.kind, [...new Set(filter.kinds)]));
  if (filter?.roles?.length) conditions.push(arrayOverlaps(principals.roles, [...new Set(filter.roles)]));
  if (filter?.groups?.length) {
    if (filter.groups.length > 100 || filter.groups.some((group) => group.includes('\u0000'))) {
      throw InvalidInputError.of('filter.groups', 'must list at most 100 groups, without NUL');
    }
    conditions.push(arrayOverlaps(principals.groups, filter.groups));
  }
  if (filter?.disabled != null) conditions.push(filter.disabled ? isNotNull(principals.disabledAt) : isNull(principals.disabledAt));
  if (filter?.nameContains) {
    if (filter.nameContains.length > 200 || filter.nameContains.includes('\u0000')) {
      throw InvalidInputError.of('filter.nameContains', 'must be at most 200 characters, without NUL');
    }
    conditions.push(sql`${principals.name} ILIKE ${`%${escapeLike(filter.nameContains)}%`}`);
  }
  // Byte order, the same on every server whatever its collation, so a cursor means one place.
  const name = sql`${principals.name} COLLATE "C"`;
  if (page.after) {
    conditions.push(or(sql`${name} > ${page.after.name}`, and(sql`${name} = ${page.after.name}`, gt(principals.id, page.after.id))));
  }
  return deps.db
    .select()
    .from(principals)
    .where(and(...conditions))
    .orderBy(name, asc(principals.id))
    .limit(page.limit);
}

/** One principal by id (ADMIN); null when there is none. */
export async function getPrincipal(deps: Pick<Deps, 'db'>, viewer: Principal, id: string): Promise<Principal | null> {
  authorize(viewer, Permission.ReadPrincipals);
  const [row] = isUuid(id) ? await deps.db.select().from(principals).where(eq(principals.id, id)) : [];
  return row ?? null;
}

const UpdatePrincipalInput = z.object({
  principalId: z.string(),
  name: PrincipalFields.name.nullish(),
  roles: PrincipalFields.roles.nullish(),
  groups: PrincipalFields.groups.nullish(),
  labels: PrincipalFields.labels.nullish(),
  /** A human's id, or null to remove the owner; absent: unchanged. */
  ownerId: z.string().nullish(),
});
export type UpdatePrincipalInput = z.input<typeof UpdatePrincipalInput>;

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Changes a principal's name, roles, groups, labels or owner (ADMIN); fields left out stay. The
 * change reaches every instance within about a second: sockets of the principal follow its new
 * roles and groups (a reviewer who leaves a group stops receiving its requests).
 */
export async function updatePrincipal(
  deps: Pick<Deps, 'db' | 'hub' | 'auth'>,
  viewer: Principal,
  raw: UpdatePrincipalInput,
): Promise<Principal> {
  authorize(viewer, Permission.ManagePrincipals);
  const input = parseInput(UpdatePrincipalInput, raw);
  return commitPrincipalChange(deps, input.principalId, async (tx) => {
    const current = await lockPrincipal(tx, input.principalId);
    const next = {
      name: input.name ?? current.name,
      roles: input.roles ?? current.roles,
      groups: input.groups ?? current.groups,
      labels: input.labels ?? current.labels,
      ownerId: input.ownerId === undefined ? current.ownerId : input.ownerId,
    };
    const problems = kindProblems(current.kind, next.roles, next.ownerId);
    if (next.ownerId === current.id) problems.push({ field: 'ownerId', message: 'a principal cannot own itself' });
    if (problems.length > 0) throw new InvalidInputError(problems);
    if (next.ownerId !== null && next.ownerId !== current.ownerId) await humanId(tx, next.ownerId, 'ownerId');
    await keepAnAdministrator(tx, current, next.roles.includes('ADMIN'));
    const changes: Partial<Record<PrincipalField, { from: unknown; to: unknown }>> = {};
    for (const field of ['name', 'roles', 'groups', 'labels', 'ownerId'] as const) {
      if (!sameValue(current[field], next[field])) changes[field] = { from: current[field], to: next[field] };
    }
    if (Object.keys(changes).length === 0) return { result: current, events: [] };
    const [updated] = await tx.update(principals).set(next).where(eq(principals.id, current.id)).returning();
    return { result: updated!, events: [{ type: 'PRINCIPAL_UPDATED', actorId: viewer.id, data: { principalId: current.id, changes } }] };
  });
}

const DisablePrincipalInput = z.object({ principalId: z.string(), reason: storableText(2_000).nullish() });

/**
 * Disables a principal (ADMIN): its tokens stop working at once on this instance and within
 * about a second everywhere, and its open sockets are closed with 4403. A disabled agent's PENDING
 * requests are cancelled in the same transaction (decided by ADMIN, with the reason), so nobody
 * approves what a compromised agent asked for; a disabled human's past reviews stand, and the
 * delegations it granted stop counting while it is disabled.
 */
export async function disablePrincipal(
  deps: Pick<Deps, 'db' | 'hub' | 'auth'>,
  viewer: Principal,
  raw: { principalId: string; reason?: string | null | undefined },
): Promise<Principal> {
  authorize(viewer, Permission.ManagePrincipals);
  const input = parseInput(DisablePrincipalInput, raw);
  return commitPrincipalChange(deps, input.principalId, async (tx) => {
    const current = await lockPrincipal(tx, input.principalId);
    if (current.disabledAt !== null) throw new ConflictError('The principal is already disabled.', 'DISABLED');
    await keepAnAdministrator(tx, current, false);
    const [disabled] = await tx
      .update(principals)
      .set({ disabledAt: sql`now()`, disabledReason: input.reason ?? null })
      .where(eq(principals.id, current.id))
      .returning();
    const reason = `The agent was disabled${input.reason ? `: ${input.reason}` : '.'}`;
    const cancelled =
      current.kind === 'AGENT'
        ? await tx
            .update(actionRequests)
            .set({
              status: 'CANCELLED',
              decidedAt: sql`now()`,
              decidedBy: 'ADMIN',
              deciderId: viewer.id,
              decisionReason: reason,
              nextEscalationAt: null,
            })
            .where(and(eq(actionRequests.agentId, current.id), eq(actionRequests.status, 'PENDING')))
            .returning({ id: actionRequests.id })
        : [];
    const events: NewAuditEvent[] = cancelled.map(({ id }) => ({
      type: 'ACTION_CANCELLED',
      actorId: viewer.id,
      requestId: id,
      data: { agentId: current.id, status: 'CANCELLED', decidedBy: 'ADMIN', reason },
    }));
    events.push({
      type: 'PRINCIPAL_DISABLED',
      actorId: viewer.id,
      data: { principalId: current.id, reason: input.reason ?? null, cancelledRequests: cancelled.length },
    });
    return { result: disabled!, events };
  });
}

/** Enables a disabled principal again (ADMIN): its tokens that are neither revoked nor expired work again. */
export async function enablePrincipal(
  deps: Pick<Deps, 'db' | 'hub' | 'auth'>,
  viewer: Principal,
  raw: { principalId: string },
): Promise<Principal> {
  authorize(viewer, Permission.ManagePrincipals);
  return commitPrincipalChange(deps, raw.principalId, async (tx) => {
    const current = await lockPrincipal(tx, raw.principalId);
    if (current.disabledAt === null) throw new ConflictError('The principal is not disabled.', 'ENABLED');
    const [enabled] = await tx
      .update(principals)
      .set({ disabledAt: null, disabledReason: null })
      .where(eq(principals.id, current.id))
      .returning();
    return { result: enabled!, events: [{ type: 'PRINCIPAL_ENABLED', actorId: viewer.id, data: { principalId: current.id } }] };
  });
}

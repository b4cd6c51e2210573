import { and, asc, count, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { delegations, principals, type DelegationRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { compileGlobs, globProblem } from '../policy/index.js';
import { isUuid, parseInput, requireFutureExpiry } from '../validation.js';
import { commitPrincipalChange } from './principal-admin.js';
import { authorize, can, Permission } from './permissions.js';
import type { Principal } from './roles.js';

/** Live delegations one human may have granted to one agent. */
export const MAX_DELEGATIONS_PER_PAIR = 20;

const GrantDelegationInput = z.object({
  agentId: z.string(),
  /** The human who delegates; default: the caller. Another human's id needs ADMIN. */
  humanId: z.string().nullish(),
  actions: z
    .array(
      z.string().superRefine((glob, ctx) => {
        const problem = globProblem(glob);
        if (problem) ctx.addIssue({ code: 'custom', message: `glob ${problem}` });
      }),
    )
    .min(1, 'must list at least one action glob, e.g. "deploy.*"')
    .max(20, 'must list at most 20 action globs'),
  expiresAt: z.date().nullish(),
});
export type GrantDelegationInput = z.input<typeof GrantDelegationInput>;

/**
 * A human lets an agent act on their behalf (`requestAction(input: { onBehalfOf })`) for the
 * actions its globs match, until it expires or is revoked. The human grants it for themselves; an
 * ADMIN may grant it for any human.
 */
export async function grantDelegation(
  deps: Pick<Deps, 'db' | 'hub' | 'auth' | 'clock'>,
  viewer: Principal,
  raw: GrantDelegationInput,
): Promise<DelegationRow> {
  const input = parseInput(GrantDelegationInput, raw);
  requireFutureExpiry('expiresAt', input.expiresAt, deps.clock.now());
  const humanId = input.humanId ?? viewer.id;
  authorize(viewer, humanId === viewer.id ? Permission.DelegateOwnActions : Permission.ManagePrincipals);
  const [agent] = isUuid(input.agentId) ? await deps.db.select().from(principals).where(eq(principals.id, input.agentId)) : [];
  if (agent?.kind !== 'AGENT') throw InvalidInputError.of('agentId', 'must be the id of an agent');
  const [human] = isUuid(humanId) ? await deps.db.select().from(principals).where(eq(principals.id, humanId)) : [];
  if (human?.kind !== 'HUMAN') throw InvalidInputError.of('humanId', 'must be the id of a human principal');
  return commitPrincipalChange(deps, agent.id, async (tx) => {
    const [{ n }] = (await tx
      .select({ n: count() })
      .from(delegations)
      .where(and(eq(delegations.agentId, agent.id), eq(delegations.humanId, human.id), isLive()))) as [{ n: number }];
    if (n >= MAX_DELEGATIONS_PER_PAIR)
      throw new ConflictError(`${human.name} already granted this agent ${MAX_DELEGATIONS_PER_PAIR} delegations: revoke one first.`);
    const [row] = await tx
      .insert(delegations)
      .values({ humanId: human.id, agentId: agent.id, actions: input.actions, grantedById: viewer.id, expiresAt: input.expiresAt ?? null })
      .returning();
    return {
      result: row!,
      events: [
        {
          type: 'DELEGATION_GRANTED',
          actorId: viewer.id,
          data: {
            delegationId: row!.id,
            humanId: human.id,
            agentId: agent.id,
            actions: row!.actions,
            expiresAt: row!.expiresAt?.toISOString() ?? null,
          },
        },
      ],
    };
  });
}

/** May the viewer see or revoke this delegation: its human, or an ADMIN. */
const mayManage = (viewer: Principal, row: DelegationRow) =>
  row.humanId === viewer.id ? can(viewer, Permission.DelegateOwnActions) : can(viewer, Permission.ManagePrincipals);

/** Revokes a delegation (its human, or an ADMIN); requests already made stay as they are. */
export async function revokeDelegation(
  deps: Pick<Deps, 'db' | 'hub' | 'auth' | 'clock'>,
  viewer: Principal,
  raw: { delegationId: string },
): Promise<DelegationRow> {
  const [found] = isUuid(raw.delegationId) ? await deps.db.select().from(delegations).where(eq(delegations.id, raw.delegationId)) : [];
  if (!found || !mayManage(viewer, found)) throw new NotFoundError('Delegation', raw.delegationId);
  return commitPrincipalChange(deps, found.agentId, async (tx) => {
    const [row] = await tx.select().from(delegations).where(eq(delegations.id, found.id)).for('update');
    if (row!.revokedAt) throw new ConflictError('The delegation is already revoked.', 'REVOKED');
    const [revoked] = await tx
      .update(delegations)
      .set({ revokedAt: sql`now()` })
      .where(eq(delegations.id, found.id))
      .returning();
    return {
      result: revoked!,
      events: [
        {
          type: 'DELEGATION_REVOKED',
          actorId: viewer.id,
          data: { delegationId: found.id, humanId: found.humanId, agentId: found.agentId },
        },
      ],
    };
  });
}

/**
 * The delegations a principal granted (a human) or received (an agent), oldest first: for the
 * principal itself or an ADMIN; null for anyone else.
 */
export async function listDelegations(deps: Pick<Deps, 'db'>, viewer: Principal, principalId: string): Promise<DelegationRow[] | null> {
  if (principalId !== viewer.id && !can(viewer, Permission.ReadPrincipals)) return null;
  return deps.db
    .select()
    .from(delegations)
    .where(or(eq(delegations.humanId, principalId), eq(delegations.agentId, principalId)))
    .orderBy(asc(delegations.createdAt), asc(delegations.id));
}

/** Neither revoked nor expired (database time). */
const isLive = () => and(isNull(delegations.revokedAt), or(isNull(delegations.expiresAt), gt(delegations.expiresAt, sql`now()`)));

/**
 * Whether `agent` may name `human` as `onBehalfOf` for `action`: the human is enabled, and owns the
 * agent or granted it a live delegation whose globs match the action.
 */
export async function mayActFor(db: Executor, agent: Principal, human: Principal, action: string): Promise<boolean> {
  if (human.disabledAt !== null) return false;
  if (agent.ownerId === human.id) return true;
  const rows = await db
    .select({ actions: delegations.actions })
    .from(delegations)
    .where(and(eq(delegations.agentId, agent.id), eq(delegations.humanId, human.id), isLive()));
  const cache = new Map();
  return rows.some((row) => compileGlobs(row.actions, cache)(action));
}

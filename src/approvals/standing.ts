import { and, asc, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import { can, Permission } from '../auth/permissions.js';
import { getPrincipalsByIds } from '../auth/principals.js';
import type { Principal } from '../auth/roles.js';
import type { Executor, Transaction } from '../db/client.js';
import { reviews, standingApprovals, type ActionRequestRow, type StandingApprovalRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError } from '../errors.js';
import { compileGlob, globProblem } from '../policy/globs.js';
import { paramsSha256 } from '../receipts/claims.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { effectiveParams } from './amend.js';
import { reviewDenial } from './eligibility.js';
import { settle, tallyRequest } from './pending.js';

/** The longest a standing approval may last: a day. */
export const MAX_STANDING_SECONDS = 86_400;

/** "And approve requests like this one for the next N seconds", given with an approval. */
export const StandingInput = z.object({
  /** A resource glob covering the request's resource; the exact resource when omitted (the narrowest). */
  resources: z.string().max(256).nullish(),
  /** Only requests with the same params (by RFC 8785 hash). */
  sameParams: z.boolean().nullish(),
  forSeconds: z.number().int().min(60, 'must be at least 60 seconds').max(MAX_STANDING_SECONDS, 'must be at most 86400 seconds (24 h)'),
});
export type StandingInput = z.output<typeof StandingInput>;

const allowed = (request: ActionRequestRow) => request.effect === 'ESCALATE' && request.evaluation.standingAllowed !== false;

/**
 * Records a standing approval granted with `reviewer`'s approval of `request` (in the same
 * transaction as the review): the same agent and action, the exact resource or a glob covering
 * it, optionally the same params, until `forSeconds` from now (database time).
 */
export async function grantStanding(
  tx: Transaction,
  reviewer: Principal,
  request: ActionRequestRow,
  input: StandingInput,
): Promise<NewAuditEvent> {
  if (!allowed(request)) {
    throw new NotAllowedError(
      'The policy does not allow standing approvals for this request (a deciding rule says review.allowStanding: false).',
    );
  }
  const glob = input.resources?.trim() || null;
  if (glob !== null && glob !== request.resource) {
    const problem = globProblem(glob);
    if (problem) throw InvalidInputError.of('standing.resources', problem);
    if (!compileGlob(glob)(request.resource)) {
      throw InvalidInputError.of('standing.resources', `must cover the request's resource (${request.resource})`);
    }
  }
  const exact = glob === null || glob === request.resource;
  // After a change of params the approval is of the changed params only: never of what the agent first asked.
  const sameParams = input.sameParams === true || request.amendedParams !== null;
  const [granted] = await tx
    .insert(standingApprovals)
    .values({
      reviewerId: reviewer.id,
      agentId: request.agentId,
      action: request.action,
      resource: exact ? request.resource : null,
      resourceGlob: exact ? null : glob,
      paramsSha256: sameParams ? paramsSha256(effectiveParams(request)) : null,
      onBehalfOfId: request.onBehalfOfId,
      ruleIds: request.evaluation.decidingRules,
      sourceRequestId: request.id,
      expiresAt: sql`now() + make_interval(secs => ${input.forSeconds})`,
    })
    .returning();
  return {
    type: 'STANDING_APPROVAL_GRANTED',
    actorId: reviewer.id,
    requestId: request.id,
    data: {
      agentId: request.agentId,
      standingApprovalId: granted!.id,
      reviewerId: reviewer.id,
      action: granted!.action,
      resource: granted!.resource,
      resourceGlob: granted!.resourceGlob,
      sameParams,
      onBehalfOfId: granted!.onBehalfOfId,
      ruleIds: granted!.ruleIds,
      expiresAt: granted!.expiresAt.toISOString(),
    },
  };
}

/**
 * Whether a live standing approval covers `request` (agent and action are matched by the query):
 * its resource, the human it is made for, only rules the reviewer judged, and its params if asked.
 */
function covers(standing: StandingApprovalRow, request: ActionRequestRow): boolean {
  if (standing.onBehalfOfId !== request.onBehalfOfId) return false;
  const rules = request.evaluation.decidingRules;
  // A request the policy's default escalated is covered only by one granted on such a request.
  if (rules.length === 0 ? standing.ruleIds.length > 0 : !rules.every((ruleId) => standing.ruleIds.includes(ruleId))) return false;
  const resourceMatches =
    standing.resource !== null ? standing.resource === request.resource : compileGlob(standing.resourceGlob!)(request.resource);
  return resourceMatches && (standing.paramsSha256 === null || standing.paramsSha256 === paramsSha256(effectiveParams(request)));
}

/**
 * When a request escalates: each live standing approval covering it stands in for its reviewer's
 * approval (one per reviewer), if that reviewer may still review it (role, groups, not a party,
 * enabled). Quorum, separation of duties and the policy in force apply as to any review; the
 * request is APPROVED here only once every requirement is met.
 */
export async function applyStandingApprovals(
  tx: Transaction,
  request: ActionRequestRow,
): Promise<{ request: ActionRequestRow; events: NewAuditEvent[] }> {
  if (request.status !== 'PENDING' || !allowed(request)) return { request, events: [] };
  const live = await tx
    .select()
    .from(standingApprovals)
    .where(
      and(
        eq(standingApprovals.agentId, request.agentId),
        eq(standingApprovals.action, request.action),
        isNull(standingApprovals.revokedAt),
        // The time now, not the transaction's start: this one may have waited for the agent's lock.
        gt(standingApprovals.expiresAt, sql`clock_timestamp()`),
      ),
    )
    .orderBy(asc(standingApprovals.createdAt))
    // A revocation in progress is waited for, and its outcome re-checked: none is used once revoked.
    .for('share');
  const covering = live.filter((standing) => covers(standing, request));
  if (covering.length === 0) return { request, events: [] };

  const people = new Map((await getPrincipalsByIds(tx, [...new Set(covering.map((s) => s.reviewerId))])).map((p) => [p.id, p]));
  const used = new Map<string, { standing: StandingApprovalRow; reviewer: Principal }>();
  for (const standing of covering) {
    const reviewer = people.get(standing.reviewerId);
    if (reviewer && !used.has(reviewer.id) && reviewDenial(reviewer, request) === null) used.set(reviewer.id, { standing, reviewer });
  }
  if (used.size === 0) return { request, events: [] };

  const events: NewAuditEvent[] = [];
  for (const { standing, reviewer } of used.values()) {
    await tx.insert(reviews).values({
      requestId: request.id,
      reviewerId: reviewer.id,
      verdict: 'APPROVE',
      comment: null,
      reviewerGroups: reviewer.groups,
      revision: request.revision,
      standingApprovalId: standing.id,
    });
    const tally = await tallyRequest(tx, request);
    events.push(
      {
        type: 'REVIEW_SUBMITTED',
        actorId: reviewer.id,
        requestId: request.id,
        data: {
          agentId: request.agentId,
          reviewerId: reviewer.id,
          verdict: 'APPROVE',
          comment: null,
          approvalsReceived: tally.received,
          revision: request.revision,
          standingApprovalId: standing.id,
        },
      },
      {
        type: 'STANDING_APPROVAL_USED',
        actorId: reviewer.id,
        requestId: request.id,
        data: { agentId: request.agentId, standingApprovalId: standing.id, reviewerId: reviewer.id },
      },
    );
  }
  const tally = await tallyRequest(tx, request);
  if (!tally.met) return { request, events };
  const last = [...used.values()].at(-1)!;
  const settled = await settle(tx, request, {
    status: 'APPROVED',
    decidedBy: 'REVIEWER',
    deciderId: last.reviewer.id,
    reason: `Approved under standing approvals of ${[...used.values()].map(({ reviewer }) => reviewer.name).join(', ')}.`,
  });
  return { request: settled.request, events: [...events, settled.event] };
}

export const RevokeStandingApprovalInput = z.object({
  standingApprovalId: z.string().max(100),
  reason: storableText(2_000).nullish(),
});
export type RevokeStandingApprovalInput = z.input<typeof RevokeStandingApprovalInput>;

const mayManage = (actor: Principal, standing: StandingApprovalRow) =>
  actor.id === standing.reviewerId || can(actor, Permission.OverrideDecision);

/**
 * Ends a standing approval before it expires, by its reviewer or an ADMIN (others are told it does
 * not exist); audited. An expired or already revoked one is a ConflictError.
 */
export async function revokeStandingApproval(
  deps: Deps,
  actor: Principal,
  rawInput: RevokeStandingApprovalInput,
): Promise<StandingApprovalRow> {
  const input = parseInput(RevokeStandingApprovalInput, rawInput);
  if (!isUuid(input.standingApprovalId)) throw new NotFoundError('StandingApproval', input.standingApprovalId);
  const { revoked, events } = await deps.db.transaction(async (tx) => {
    const [locked] = await tx
      .select({ standing: standingApprovals, expired: sql<boolean>`${standingApprovals.expiresAt} <= now()` })
      .from(standingApprovals)
      .where(eq(standingApprovals.id, input.standingApprovalId))
      .for('update');
    if (!locked || !mayManage(actor, locked.standing)) throw new NotFoundError('StandingApproval', input.standingApprovalId);
    if (locked.standing.revokedAt)
      throw new ConflictError(`The standing approval was already revoked at ${locked.standing.revokedAt.toISOString()}.`, 'REVOKED');
    if (locked.expired)
      throw new ConflictError(`The standing approval already expired at ${locked.standing.expiresAt.toISOString()}.`, 'EXPIRED');
    const [revoked] = await tx
      .update(standingApprovals)
      .set({ revokedAt: sql`now()`, revokedById: actor.id })
      .where(eq(standingApprovals.id, locked.standing.id))
      .returning();
    const events = await appendAuditEvents(tx, [
      {
        type: 'STANDING_APPROVAL_REVOKED',
        actorId: actor.id,
        requestId: revoked!.sourceRequestId,
        data: {
          agentId: revoked!.agentId,
          standingApprovalId: revoked!.id,
          reviewerId: revoked!.reviewerId,
          revokedById: actor.id,
          reason: input.reason ?? null,
        },
      },
    ]);
    return { revoked: revoked!, events };
  });
  deps.hub.publish(events);
  return revoked;
}

/** The most standing approvals one listing returns, newest first. */
export const MAX_LISTED_STANDING = 200;

/** The viewer's own standing approvals, or everyone's for an ADMIN; live ones only unless `includeEnded`. */
export async function listStandingApprovals(db: Executor, viewer: Principal, includeEnded: boolean): Promise<StandingApprovalRow[]> {
  const conditions = [
    ...(can(viewer, Permission.OverrideDecision) ? [] : [eq(standingApprovals.reviewerId, viewer.id)]),
    ...(includeEnded ? [] : [isNull(standingApprovals.revokedAt), gt(standingApprovals.expiresAt, sql`now()`)]),
  ];
  return db
    .select()
    .from(standingApprovals)
    .where(and(...conditions))
    .orderBy(desc(standingApprovals.createdAt))
    .limit(MAX_LISTED_STANDING);
}

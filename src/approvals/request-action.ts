import canonicalize from 'canonicalize';
import { and, eq, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import type { NewAuditEvent } from '../audit/events.js';
import { mayActFor } from '../auth/delegations.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Executor } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { actionRequests, principals, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { DelegationRequiredError, IdempotencyConflictError, InvalidInputError } from '../errors.js';
import {
  DEFAULT_REMIND_AT,
  DEFAULT_VALID_FOR_SECONDS,
  parseRedactionPaths,
  type Evaluation,
  type ReviewRequirement,
} from '../policy/index.js';
import { isUuid, jsonValueProblem, parseInput, storableText } from '../validation.js';
import { evaluateRequest, evaluationInputFor } from './evaluation.js';
import { initialRequirements, nextStepAfter, requiredApprovals, reviewerGroups, summarize } from './requirements.js';
import { applyStandingApprovals } from './standing.js';

const MAX_PARAMS_BYTES = 64 * 1_024; // 64 KiB of JSON

/** An action's parameters: a JSON object of at most 64 KiB and 32 levels, storable by PostgreSQL. */
export const ActionParams = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }).superRefine((params, ctx) => {
  // Checked before its size: measuring a deeply nested value would walk it all.
  const problem = jsonValueProblem(params);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, abort: true });
  else if (Buffer.byteLength(JSON.stringify(params)) > MAX_PARAMS_BYTES)
    ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_PARAMS_BYTES} bytes of JSON` });
});

/**
 * `.` and `..` segments are refused: `staging/../prod/db` would match a rule on `staging/**` while
 * the system acting on it may read it as `prod/db`.
 */
function withoutDotSegments(name: string): boolean {
  return !name.split('/').some((segment) => segment === '.' || segment === '..');
}
const DOT_SEGMENTS_MESSAGE = 'must not contain . or .. path segments: name the target itself (e.g. "prod/payments-api")';

export const RequestActionInput = z.object({
  action: z
    .string()
    .min(1, { error: 'must not be empty', abort: true })
    .max(200, 'must be at most 200 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:\/-]*$/, 'must be letters, digits and _ . : / - (e.g. "deploy.update")')
    .refine(withoutDotSegments, DOT_SEGMENTS_MESSAGE),
  resource: z
    .string()
    .min(1, { error: 'must not be empty', abort: true })
    .max(1_000, 'must be at most 1000 characters')
    .regex(/^[^\s\p{Cc}]+$/u, 'must not contain white space or control characters (e.g. "prod/payments-api")')
    .refine(withoutDotSegments, DOT_SEGMENTS_MESSAGE),
  params: ActionParams.nullish(),
  reason: storableText(2_000).nullish(),
  idempotencyKey: storableText(255).min(1, 'must not be empty').nullish(),
  onBehalfOf: z.string().nullish(),
  context: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,99}$/, 'keys use letters, digits and _ . / -'), storableText(500), {
      error: 'must be a JSON object of string values',
    })
    .refine((c) => Object.keys(c).length <= 50, 'must hold at most 50 labels')
    .nullish(),
});
export type RequestActionInput = z.input<typeof RequestActionInput>;

export interface RequestActionResult {
  request: ActionRequestRow;
  /** False when an idempotent retry returned the original request. */
  created: boolean;
}

function payloadHash(input: z.output<typeof RequestActionInput>): string {
  const payload = {
    action: input.action,
    resource: input.resource,
    params: input.params ?? null,
    reason: input.reason ?? null,
    onBehalfOf: input.onBehalfOf ?? null,
    context: input.context ?? {},
  };
  return createHash('sha256').update(canonicalize(payload)!).digest('hex');
}

async function findByIdempotencyKey(db: Executor, agentId: string, key: string): Promise<ActionRequestRow | null> {
  const [row] = await db
    .select()
    .from(actionRequests)
    .where(and(eq(actionRequests.agentId, agentId), eq(actionRequests.idempotencyKey, key)))
    .limit(1);
  return row ?? null;
}

function idempotentResult(existing: ActionRequestRow, hash: string): RequestActionResult {
  if (existing.payloadHash !== hash) throw new IdempotencyConflictError(existing.id);
  return { request: existing, created: false };
}

async function loadHuman(db: Executor, id: string): Promise<Principal> {
  const [row] = isUuid(id) ? await db.select().from(principals).where(eq(principals.id, id)) : [];
  if (row?.kind !== 'HUMAN') throw InvalidInputError.of('onBehalfOf', 'must be the id of a human principal');
  return row;
}

/** The end of an approval's window, in database time. */
export function approvalWindowEnd(evaluation: Pick<Evaluation, 'validForSeconds'>) {
  return sql`now() + make_interval(secs => ${evaluation.validForSeconds ?? DEFAULT_VALID_FOR_SECONDS})`;
}

function decisionColumns(evaluation: Evaluation) {
  switch (evaluation.effect) {
    case 'ALLOW':
      return {
        status: 'APPROVED' as const,
        decidedAt: sql`now()`,
        decidedBy: 'POLICY' as const,
        decisionReason: evaluation.reason,
        validUntil: approvalWindowEnd(evaluation),
      };
    case 'BLOCK':
      return {
        status: 'BLOCKED' as const,
        decidedAt: sql`now()`,
        decidedBy: 'POLICY' as const,
        decisionReason: evaluation.reason ?? evaluation.explanation,
      };
    case 'ESCALATE': {
      const requirements = initialRequirements(evaluation.requirements);
      const firstStep = nextStepAfter(requirements);
      return {
        status: 'PENDING' as const,
        reviewRequirements: requirements,
        requiredGroups: reviewerGroups(requirements),
        requiredApprovals: requiredApprovals(requirements),
        // Database time, like every deadline: instances' clocks may disagree, the database's is one.
        expiresAt: sql`now() + make_interval(secs => ${evaluation.review!.timeoutSeconds})`,
        nextEscalationAt: firstStep === null ? null : sql`now() + make_interval(secs => ${firstStep})`,
        remindAt: sql`now() + make_interval(secs => ${remindAfterSeconds(evaluation.review!)})`,
      };
    }
  }
}

/** Seconds from the request to its reminder: the policy's share of its timeout. */
const remindAfterSeconds = (review: ReviewRequirement): number => review.timeoutSeconds * (review.remindAt ?? DEFAULT_REMIND_AT);

function decisionEvent(request: ActionRequestRow, evaluation: Evaluation): NewAuditEvent {
  const base = { actorId: null, requestId: request.id };
  if (request.status === 'PENDING') {
    return {
      ...base,
      type: 'ACTION_ESCALATED',
      data: {
        agentId: request.agentId,
        policyVersion: evaluation.policyVersion,
        matchedRules: evaluation.matchedRules,
        errors: evaluation.errors,
        requiredGroups: request.requiredGroups,
        requiredApprovals: request.requiredApprovals,
        requirements: summarize(request.reviewRequirements),
        expiresAt: request.expiresAt!.toISOString(),
      },
    };
  }
  return {
    ...base,
    type: request.status === 'APPROVED' ? 'ACTION_APPROVED' : 'ACTION_BLOCKED',
    data: {
      agentId: request.agentId,
      status: request.status,
      decidedBy: 'POLICY',
      reason: request.decisionReason,
      policyVersion: evaluation.policyVersion,
      matchedRules: evaluation.matchedRules,
      errors: evaluation.errors,
    },
  };
}

/**
 * An agent asks to perform an action. The active policy decides in memory; the request and its
 * audit events are written in one transaction; subscribers hear of it after the commit.
 */
export async function requestAction(deps: Deps, agent: Principal, rawInput: RequestActionInput): Promise<RequestActionResult> {
  authorize(agent, Permission.RequestAction);
  return deps.quotas.requestAction(agent.id, () => decideRequest(deps, agent, rawInput));
}

/** Records an agent's refused claim to act for a human; nothing else is written. */
async function refuseDelegation(
  deps: Deps,
  agent: Principal,
  human: Principal,
  input: { action: string; resource: string },
): Promise<never> {
  const events = await deps.db.transaction((tx) =>
    appendAuditEvents(tx, [
      {
        type: 'DELEGATION_REFUSED',
        actorId: agent.id,
        data: { agentId: agent.id, onBehalfOfId: human.id, action: input.action, resource: input.resource },
      },
    ]),
  );
  deps.hub.publish(events);
  throw new DelegationRequiredError(human.id);
}

async function decideRequest(deps: Deps, agent: Principal, rawInput: RequestActionInput): Promise<RequestActionResult> {
  const input = parseInput(RequestActionInput, rawInput);
  const hash = payloadHash(input);
  const key = input.idempotencyKey ?? null;

  if (key) {
    const existing = await findByIdempotencyKey(deps.db, agent.id, key);
    if (existing) return idempotentResult(existing, hash);
  }
  const onBehalfOf = input.onBehalfOf ? await loadHuman(deps.db, input.onBehalfOf) : null;
  if (onBehalfOf && !(await mayActFor(deps.db, agent, onBehalfOf, input.action))) await refuseDelegation(deps, agent, onBehalfOf, input);
  const evaluationInput = evaluationInputFor(agent, onBehalfOf, input, new Date());

  try {
    const { request, events } = await deps.db.transaction(
      async (tx) => {
        const policy = await deps.policies.fresh(tx);
        const evaluation = await evaluateRequest(tx, policy, evaluationInput, { lock: true });
        if (evaluation.reasonRequiredBy.length > 0 && !input.reason?.trim()) {
          const rules = evaluation.reasonRequiredBy.map((id) => `"${id}"`).join(', ');
          throw InvalidInputError.of('reason', `is required for this action by rule ${rules}: say why the agent needs it`);
        }
        const [request] = await tx
          .insert(actionRequests)
          .values({
            agentId: agent.id,
            onBehalfOfId: input.onBehalfOf ?? null,
            ownerId: agent.ownerId,
            action: input.action,
            resource: input.resource,
            params: input.params ?? null,
            reason: input.reason ?? null,
            context: input.context ?? {},
            idempotencyKey: key,
            payloadHash: hash,
            redactPaths: policy.document.redact ?? [],
            effect: evaluation.effect,
            evaluation,
            matchedRules: evaluation.matchedRules,
            ...decisionColumns(evaluation),
          })
          .returning();
        // The log keeps markers where the policy redacts; the values go beside it, for ADMIN.
        const paths = parseRedactionPaths(request!.redactPaths);
        const params = deps.redactor.redact(input.params ?? null, 'params', paths, ['params']);
        const context = deps.redactor.redact(input.context ?? {}, 'context', paths, ['context']);
        // Reviewers' standing approvals covering it stand in for their reviews at once.
        const standing = evaluation.effect === 'ESCALATE' ? await applyStandingApprovals(tx, request!) : { request: request!, events: [] };
        const events = await appendAuditEvents(tx, [
          {
            type: 'ACTION_REQUESTED',
            actorId: agent.id,
            requestId: request!.id,
            data: {
              agentId: agent.id,
              action: input.action,
              resource: input.resource,
              params: params.value,
              context: context.value,
              onBehalfOfId: input.onBehalfOf ?? null,
              idempotencyKey: key,
              reason: input.reason ?? null,
            },
            redacted: [...params.redacted, ...context.redacted],
          },
          decisionEvent(request!, evaluation),
          ...standing.events,
        ]);
        return { request: standing.request, events };
        // The rate-limit count must see requests committed while this one waited for the agent's
        // lock: that needs each statement's own snapshot, i.e. READ COMMITTED (pinned, not assumed).
      },
      { isolationLevel: 'read committed' },
    );
    deps.hub.publish(events);
    return { request, created: true };
  } catch (error) {
    // Two retries with one key raced past the lookup above; the loser returns the winner's row.
    if (key && isUniqueViolation(error, 'action_requests_idempotency_key')) {
      const existing = await findByIdempotencyKey(deps.db, agent.id, key);
      if (existing) return idempotentResult(existing, hash);
    }
    throw error;
  }
}

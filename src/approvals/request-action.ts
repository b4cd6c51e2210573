import canonicalize from 'canonicalize';
import { and, eq } from 'drizzle-orm';
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
  evaluatePolicy,
  limitedRuleIds,
  parseRedactionPaths,
  type CompiledPolicy,
  type Evaluation,
  type EvaluationInput,
} from '../policy/index.js';
import { isUuid, jsonValueProblem, parseInput, storableText } from '../validation.js';
import { evaluateRequest, evaluationInputFor } from './evaluation.js';
import { decisionColumns, decisionEvent, decisionFields, type DecisionFields } from './request-decision.js';
import { insertRequestInOneStatement, type NewRequest, type RequestEvent } from './request-statement.js';
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

/**
 * An agent asks to perform an action. The active policy decides in memory; the request and its
 * audit events are written together, in one statement where that suffices, else in one
 * transaction; subscribers hear of it after the commit.
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

type ParsedInput = z.output<typeof RequestActionInput>;

/** What both write paths share: the request's columns and events, from the policy's evaluation. */
interface Decided {
  request: NewRequest;
  fields: DecisionFields;
  requested: RequestEvent;
}

function decide(deps: Deps, agent: Principal, input: ParsedInput, hash: string, policy: CompiledPolicy, evaluation: Evaluation): Decided {
  if (evaluation.reasonRequiredBy.length > 0 && !input.reason?.trim()) {
    const rules = evaluation.reasonRequiredBy.map((id) => `"${id}"`).join(', ');
    throw InvalidInputError.of('reason', `is required for this action by rule ${rules}: say why the agent needs it`);
  }
  const fields = decisionFields(evaluation);
  const redactPaths = policy.document.redact ?? [];
  // The log keeps markers where the policy redacts; the values go beside it, for ADMIN.
  const paths = parseRedactionPaths(redactPaths);
  const params = deps.redactor.redact(input.params ?? null, 'params', paths, ['params']);
  const context = deps.redactor.redact(input.context ?? {}, 'context', paths, ['context']);
  const request: NewRequest = {
    agentId: agent.id,
    onBehalfOfId: input.onBehalfOf ?? null,
    ownerId: agent.ownerId,
    action: input.action,
    resource: input.resource,
    params: input.params ?? null,
    reason: input.reason ?? null,
    context: input.context ?? {},
    idempotencyKey: input.idempotencyKey ?? null,
    payloadHash: hash,
    redactPaths,
    effect: evaluation.effect,
    evaluation,
    matchedRules: evaluation.matchedRules,
    ...fields,
  };
  const requested: RequestEvent = {
    type: 'ACTION_REQUESTED',
    actorId: agent.id,
    data: {
      agentId: agent.id,
      action: input.action,
      resource: input.resource,
      params: params.value,
      context: context.value,
      onBehalfOfId: input.onBehalfOf ?? null,
      idempotencyKey: request.idempotencyKey,
      reason: input.reason ?? null,
    },
    redacted: [...params.redacted, ...context.redacted],
  };
  return { request, fields, requested };
}

// A publish racing the one-statement write makes it try again with the new version; after this
// many tries the transaction path decides.
const STATEMENT_TRIES = 3;

/**
 * The common case in one statement: no rate limit to count (so no lock to hold), no standing
 * approval to apply. Null when the transaction path must decide instead.
 */
async function requestInOneStatement(
  deps: Deps,
  agent: Principal,
  input: ParsedInput,
  hash: string,
  evaluationInput: EvaluationInput,
): Promise<RequestActionResult | null> {
  const key = input.idempotencyKey ?? null;
  let policy = deps.policies.current();
  for (let tries = 0; tries < STATEMENT_TRIES; tries++) {
    if (limitedRuleIds(policy, evaluationInput).length > 0) return null;
    const evaluation = evaluatePolicy(policy, evaluationInput);
    let decided: Decided;
    try {
      decided = decide(deps, agent, input, hash, policy, evaluation);
    } catch (error) {
      // A retry is answered with what was recorded, even if the policy now asks for more.
      const existing = key && (await findByIdempotencyKey(deps.db, agent.id, key));
      if (existing) return idempotentResult(existing, hash);
      throw error;
    }
    const { request, fields, requested } = decided;
    const outcome = await insertRequestInOneStatement(deps, policy.version, request, [
      requested,
      decisionEvent(agent.id, fields, evaluation, null),
    ]);
    if (outcome.written) {
      deps.hub.publish(outcome.events);
      return { request: outcome.request, created: true };
    }
    if (outcome.reason === 'IDEMPOTENCY_KEY_TAKEN') {
      const existing = await findByIdempotencyKey(deps.db, agent.id, key!);
      if (existing) return idempotentResult(existing, hash);
      return null;
    }
    if (outcome.reason === 'STANDING_APPROVALS') return null;
    policy = await deps.policies.fresh(deps.db);
  }
  return null;
}

async function decideRequest(deps: Deps, agent: Principal, rawInput: RequestActionInput): Promise<RequestActionResult> {
  const input = parseInput(RequestActionInput, rawInput);
  const hash = payloadHash(input);
  const key = input.idempotencyKey ?? null;

  // An agent acting for a human is answered from its first request's record on a retry, before
  // the delegation is checked again.
  if (key && input.onBehalfOf) {
    const existing = await findByIdempotencyKey(deps.db, agent.id, key);
    if (existing) return idempotentResult(existing, hash);
  }
  const onBehalfOf = input.onBehalfOf ? await loadHuman(deps.db, input.onBehalfOf) : null;
  if (onBehalfOf && !(await mayActFor(deps.db, agent, onBehalfOf, input.action))) await refuseDelegation(deps, agent, onBehalfOf, input);
  const evaluationInput = evaluationInputFor(agent, onBehalfOf, input, deps.clock.now());

  const written = await requestInOneStatement(deps, agent, input, hash, evaluationInput);
  if (written) return written;
  return requestInTransaction(deps, agent, input, hash, evaluationInput);
}

/**
 * The general case, in one transaction: rate-limited rules count the agent's recent requests
 * under its lock, and an escalation may be settled at once by reviewers' standing approvals.
 */
async function requestInTransaction(
  deps: Deps,
  agent: Principal,
  input: ParsedInput,
  hash: string,
  evaluationInput: EvaluationInput,
): Promise<RequestActionResult> {
  const key = input.idempotencyKey ?? null;
  if (key) {
    const existing = await findByIdempotencyKey(deps.db, agent.id, key);
    if (existing) return idempotentResult(existing, hash);
  }
  try {
    const { request, events } = await deps.db.transaction(
      async (tx) => {
        const policy = await deps.policies.fresh(tx);
        const evaluation = await evaluateRequest(tx, policy, evaluationInput, { lock: true });
        const { request: values, fields, requested } = decide(deps, agent, input, hash, policy, evaluation);
        const { validForSeconds, expiresInSeconds, nextEscalationInSeconds, remindInSeconds, ...columns } = values;
        const [request] = await tx
          .insert(actionRequests)
          .values({ ...columns, ...decisionColumns(fields) })
          .returning();
        // Reviewers' standing approvals covering it stand in for their reviews at once.
        const standing = evaluation.effect === 'ESCALATE' ? await applyStandingApprovals(tx, request!) : { request: request!, events: [] };
        const events = await appendAuditEvents(tx, [
          { ...requested, requestId: request!.id } as NewAuditEvent,
          { ...decisionEvent(agent.id, fields, evaluation, request!.expiresAt), requestId: request!.id } as NewAuditEvent,
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

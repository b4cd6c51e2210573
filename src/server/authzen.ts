import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { requestAction } from '../approvals/request-action.js';
import type { ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { DelegationRequiredError, IdempotencyConflictError, InvalidInputError, NotAllowedError, RateLimitedError } from '../errors.js';
import { receiptFor, redeemedAt } from '../receipts/receipts.js';
import type { Principal } from '../auth/roles.js';
import { authenticateRequest, BodyError, readJsonBody, refuse, refuseBody } from './bearer.js';

/** OpenID AuthZEN 1.0, Access Evaluation API. */
export const AUTHZEN_EVALUATION_PATH = '/access/v1/evaluation';

const Entity = z.object({ type: z.string().max(200), id: z.string().max(1_000), properties: z.record(z.string(), z.unknown()).optional() });

/** An AuthZEN evaluation request, in Greenlight's mapping (see the README, "AuthZEN"). */
const EvaluationRequest = z.object({
  subject: Entity.optional(),
  action: z.object({ name: z.string(), properties: z.record(z.string(), z.unknown()).optional() }),
  resource: Entity,
  context: z
    .object({
      params: z.unknown().optional(),
      reason: z.string().optional(),
      idempotencyKey: z.string().optional(),
      onBehalfOf: z.string().optional(),
    })
    .loose()
    .optional(),
});

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * The AuthZEN decision for a request Greenlight recorded: true only while it is APPROVED and its
 * approval unused (no outcome reported, receipt not redeemed, window open), so a replayed
 * evaluation does not allow the action twice, or late.
 */
async function decisionOf(deps: Deps, agent: Principal, request: ActionRequestRow) {
  const base = { requestId: request.id, status: request.status };
  switch (request.status) {
    case 'APPROVED': {
      const spent = request.outcome
        ? `The approval was already used: its outcome (${request.outcome}) was reported. Ask again with a new idempotencyKey.`
        : request.validUntil && request.validUntil.getTime() <= deps.clock.now().getTime()
          ? `The approval window closed at ${request.validUntil.toISOString()}. Ask again with a new idempotencyKey.`
          : (await redeemedAt(deps.db, request.id))
            ? 'The approval was already used: its receipt was redeemed. Ask again with a new idempotencyKey.'
            : null;
      if (spent) return { decision: false, context: { ...base, reason: spent } };
      return {
        decision: true,
        context: {
          ...base,
          receipt: await receiptFor(deps.db, deps.receipts, agent, request),
          validUntil: request.validUntil?.toISOString(),
        },
      };
    }
    case 'PENDING':
      return {
        decision: false,
        context: {
          ...base,
          reason: 'Waiting for human review: ask again with the same idempotencyKey, or follow requestId, once reviewers decide.',
          expiresAt: request.expiresAt?.toISOString(),
        },
      };
    default:
      return { decision: false, context: { ...base, reason: request.decisionReason } };
  }
}

/**
 * `POST /access/v1/evaluation`: an AuthZEN policy enforcement point (an API gateway, a proxy) asks
 * on the agent's behalf, with the agent's bearer token. It records a real request exactly as
 * `requestAction` does; the decision is true only when the request is APPROVED (with its receipt).
 */
export async function handleAuthzenEvaluation(deps: Deps, req: IncomingMessage, res: ServerResponse, trustProxy: boolean): Promise<void> {
  const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 200) : undefined;
  // Echoed on every answer, refusals included (printable ASCII only: it goes back into a header).
  if (requestId && /^[\x20-\x7e]+$/.test(requestId)) res.setHeader('x-request-id', requestId);
  if (req.method !== 'POST') return refuse(res, 405, 'POST an AuthZEN evaluation request.', { allow: 'POST' });
  const session = await authenticateRequest(deps, req, res, trustProxy);
  if (!session) return;
  const agent = session.principal;
  let body: unknown;
  try {
    body = await readJsonBody(req);
  } catch (error) {
    if (error instanceof BodyError) return refuseBody(res, error);
    throw error;
  }
  const parsed = EvaluationRequest.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || 'body', message: issue.message }));
    return answer(res, 400, { error: 'Not an AuthZEN evaluation request.', problems });
  }
  const { subject, action, resource, context } = parsed.data;
  if (subject && subject.id !== agent.id) {
    return answer(res, 403, { error: `subject.id must be the authenticated agent (${agent.id}), or be omitted.` });
  }
  try {
    const { request } = await requestAction(deps, agent, {
      action: action.name,
      resource: resource.id,
      params: context?.params as Record<string, unknown> | null | undefined,
      reason: context?.reason ?? null,
      idempotencyKey: context?.idempotencyKey ?? null,
      onBehalfOf: context?.onBehalfOf ?? null,
    });
    return answer(res, 200, await decisionOf(deps, agent, request));
  } catch (error) {
    if (error instanceof InvalidInputError) {
      const problems = error.problems.map((problem) => ({
        ...problem,
        field: AUTHZEN_FIELDS[problem.field] ?? `context.${problem.field}`,
      }));
      return answer(res, 400, { error: error.message, problems });
    }
    if (error instanceof IdempotencyConflictError) {
      return answer(res, 409, { error: error.message, existingRequestId: error.existingRequestId });
    }
    if (error instanceof RateLimitedError) {
      res.setHeader('retry-after', String(error.retryAfter));
      return answer(res, 429, { error: error.message, retryAfter: error.retryAfter });
    }
    if (error instanceof DelegationRequiredError || error instanceof NotAllowedError) return answer(res, 403, { error: error.message });
    throw error;
  }
}

/** Where a `requestAction` input field comes from in an AuthZEN request. */
const AUTHZEN_FIELDS: Record<string, string> = { action: 'action.name', resource: 'resource.id' };

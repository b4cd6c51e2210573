import type { Principal } from '../auth/roles.js';
import type { Executor } from '../db/client.js';
import {
  evaluatePolicy,
  limitedRuleIds,
  type CompiledPolicy,
  type Evaluation,
  type EvaluationInput,
  type PolicySubject,
} from '../policy/index.js';
import { countRuleUsage, lockAgentRequests } from './usage.js';

/** How the policy sees a principal (and what CEL sees as `agent` / `onBehalfOf`). */
export function policySubject(principal: Principal): PolicySubject {
  return { id: principal.id, name: principal.name, groups: principal.groups, labels: principal.labels };
}

/** The request as the pure engine sees it: what a live request, a simulation and a replay share. */
export function evaluationInputFor(
  agent: Principal,
  onBehalfOf: Principal | null,
  request: {
    action: string;
    resource: string;
    params?: Record<string, unknown> | null | undefined;
    reason?: string | null | undefined;
    context?: Record<string, string> | null | undefined;
  },
  now: Date,
): EvaluationInput {
  return {
    action: request.action,
    resource: request.resource,
    agent: policySubject(agent),
    onBehalfOf: onBehalfOf ? policySubject(onBehalfOf) : null,
    params: request.params ?? null,
    reason: request.reason ?? null,
    context: request.context ?? {},
    now,
  };
}

/**
 * Evaluates a request against a compiled policy, counting rate-limit usage first. Pure apart
 * from those counts; `lock` makes the counts hold until the caller's transaction ends.
 */
export async function evaluateRequest(
  db: Executor,
  policy: CompiledPolicy,
  input: EvaluationInput,
  options: { lock: boolean },
): Promise<Evaluation> {
  const limited = limitedRuleIds(policy, input);
  if (limited.length === 0) return evaluatePolicy(policy, input);
  if (options.lock) await lockAgentRequests(db, input.agent.id);
  return evaluatePolicy(policy, input, await countRuleUsage(db, input.agent.id, input, limited));
}

import { and, asc, gt, gte, lt, type SQL } from 'drizzle-orm';
import { evaluationInputFor } from '../approvals/evaluation.js';
import { authorize, Permission } from '../auth/permissions.js';
import { getPrincipalsByIds } from '../auth/principals.js';
import type { Principal } from '../auth/roles.js';
import { actionRequests, type ActionRequestRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { InvalidInputError } from '../errors.js';
import {
  evaluatePolicy,
  limitedRuleIds,
  type Evaluation,
  type EvaluationInput,
  type PolicyDocument,
  type PolicyEffect,
  type RateLimit,
} from '../policy/index.js';
import { compileDraft } from './draft.js';

export const REPLAY_LIMITS = { defaultRequests: 10_000, maxRequests: 100_000, samples: 20, pageSize: 1_000 } as const;

export interface ReplayPolicyInput extends PolicyDocument {
  /** Only requests made at or after this instant. */
  since?: Date | null | undefined;
  /** Only requests made before this instant. */
  until?: Date | null | undefined;
  /** At most this many requests, oldest first (default 10,000; at most 100,000). */
  limit?: number | null | undefined;
}

export interface DecisionChange {
  from: PolicyEffect;
  to: PolicyEffect;
  count: number;
}

export interface ReplaySample {
  request: ActionRequestRow;
  from: PolicyEffect;
  to: PolicyEffect;
  matchedRules: string[];
  explanation: string;
}

export interface ReplayResult {
  evaluated: number;
  /** True when more requests matched the time range than `limit` allowed to replay. */
  truncated: boolean;
  changed: number;
  changes: DecisionChange[];
  /** Requests without a reason that the draft would refuse (a matching rule has `requireReason`). */
  refusedForMissingReason: number;
  /** Requests sent to reviewers as recorded, and under the draft. */
  escalationsBefore: number;
  escalationsAfter: number;
  /** Approvals reviewers had to give as recorded, and would have to give under the draft. */
  approvalsNeededBefore: number;
  approvalsNeededAfter: number;
  samples: ReplaySample[];
}

function scopeKey(ruleId: string, limit: RateLimit, input: EvaluationInput): string {
  const scope = limit.per === 'AGENT_ACTION' ? input.action : limit.per === 'AGENT_RESOURCE' ? input.resource : '';
  return JSON.stringify([ruleId, input.agent.id, scope]);
}

/**
 * Rate-limit usage as the draft would have seen it: the replay's own matches, so a draft limit is
 * judged by the draft's decisions, not by the recorded ones. Requests are replayed in time order,
 * so each (rule, agent, scope) keeps a queue of match times and drops those that left the window:
 * the work stays linear in the number of requests. Matches before `since` are not known, so a
 * limit counts from the start of the replay.
 */
class ReplayUsage {
  private readonly windows = new Map<string, number[]>();

  count(ruleId: string, limit: RateLimit, input: EvaluationInput): number {
    const times = this.windows.get(scopeKey(ruleId, limit, input));
    if (!times) return 0;
    const since = input.now.getTime() - limit.windowSeconds * 1_000;
    let expired = 0;
    while (expired < times.length && times[expired]! <= since) expired++;
    if (expired > 0) times.splice(0, expired);
    return times.length;
  }

  record(evaluation: Evaluation, limited: readonly { ruleId: string; limit: RateLimit }[], input: EvaluationInput): void {
    for (const { ruleId, limit } of limited) {
      if (!evaluation.matchedRules.includes(ruleId)) continue;
      const key = scopeKey(ruleId, limit, input);
      const times = this.windows.get(key) ?? [];
      times.push(input.now.getTime());
      this.windows.set(key, times);
    }
  }
}

/**
 * Evaluates a draft policy against recorded requests (oldest first) and reports which decisions
 * would change and what that does to reviewer load. Reads only; agents are evaluated with their
 * current groups and labels, since those are not versioned.
 */
export async function replayPolicy(deps: Deps, viewer: Principal, input: ReplayPolicyInput): Promise<ReplayResult> {
  authorize(viewer, Permission.ReadPolicy);
  // A draft's CEL runs on the server, over every replayed request: only an ADMIN's may.
  if (Array.isArray(input.rules) && input.rules.some((rule) => rule?.when != null)) authorize(viewer, Permission.ReplayConditions);
  const limit = input.limit ?? REPLAY_LIMITS.defaultRequests;
  if (!Number.isInteger(limit) || limit < 1 || limit > REPLAY_LIMITS.maxRequests) {
    throw InvalidInputError.of('limit', `must be a whole number from 1 to ${REPLAY_LIMITS.maxRequests}`);
  }
  if (input.since && input.until && input.since >= input.until) throw InvalidInputError.of('until', 'must be after since');
  const draft = compileDraft({ rules: input.rules, defaultEffect: input.defaultEffect });

  const result: ReplayResult = {
    evaluated: 0,
    truncated: false,
    changed: 0,
    changes: [],
    refusedForMissingReason: 0,
    escalationsBefore: 0,
    escalationsAfter: 0,
    approvalsNeededBefore: 0,
    approvalsNeededAfter: 0,
    samples: [],
  };
  const changes = new Map<string, DecisionChange>();
  const usage = new ReplayUsage();
  const principals = new Map<string, Principal>();
  let afterPosition = 0;

  for (;;) {
    const conditions: SQL[] = [gt(actionRequests.position, afterPosition)];
    if (input.since) conditions.push(gte(actionRequests.createdAt, input.since));
    if (input.until) conditions.push(lt(actionRequests.createdAt, input.until));
    // One row past the limit, when near it, tells whether the replay was cut short.
    const requested = Math.min(REPLAY_LIMITS.pageSize, limit - result.evaluated + 1);
    const page = await deps.db
      .select()
      .from(actionRequests)
      .where(and(...conditions))
      .orderBy(asc(actionRequests.position))
      .limit(requested);
    const missing = [...new Set(page.flatMap((r) => [r.agentId, r.onBehalfOfId ?? r.agentId]))].filter((id) => !principals.has(id));
    for (const principal of await getPrincipalsByIds(deps.db, missing)) principals.set(principal.id, principal);

    for (const request of page) {
      if (result.evaluated === limit) {
        result.truncated = true;
        break;
      }
      const onBehalfOf = request.onBehalfOfId ? principals.get(request.onBehalfOfId)! : null;
      const evaluationInput = evaluationInputFor(principals.get(request.agentId)!, onBehalfOf, request, request.createdAt);
      const limited = limitedRuleIds(draft, evaluationInput);
      const counts = new Map(limited.map(({ ruleId, limit: l }) => [ruleId, usage.count(ruleId, l, evaluationInput)]));
      const evaluation = evaluatePolicy(draft, evaluationInput, counts);
      usage.record(evaluation, limited, evaluationInput);
      if (evaluation.reasonRequiredBy.length > 0 && !request.reason?.trim()) result.refusedForMissingReason += 1;

      result.evaluated += 1;
      const from = request.effect;
      const to = evaluation.effect;
      if (from === 'ESCALATE') {
        result.escalationsBefore += 1;
        result.approvalsNeededBefore += request.requiredApprovals;
      }
      if (to === 'ESCALATE') {
        result.escalationsAfter += 1;
        result.approvalsNeededAfter += evaluation.review?.approvals ?? 0;
      }
      if (from === to) continue;
      result.changed += 1;
      const key = `${from}->${to}`;
      const change = changes.get(key) ?? { from, to, count: 0 };
      change.count += 1;
      changes.set(key, change);
      if (result.samples.length < REPLAY_LIMITS.samples) {
        result.samples.push({ request, from, to, matchedRules: evaluation.matchedRules, explanation: evaluation.explanation });
      }
    }
    if (result.truncated || page.length < requested) break;
    afterPosition = page.at(-1)!.position;
  }
  result.changes = [...changes.values()].sort((a, b) => b.count - a.count);
  return result;
}

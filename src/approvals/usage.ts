import { and, count, eq, gt, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { ADVISORY_LOCKS } from '../db/locks.js';
import { actionRequests } from '../db/schema.js';
import type { EvaluationInput, RateLimit, RuleUsage } from '../policy/index.js';

/**
 * Counts, for each rate-limited rule, the agent's earlier requests within the rule's window (and
 * scope) that the rule matched: the pure evaluator applies the rule only below its limit.
 * Callers that go on to insert a request hold the agent's lock (`lockAgentRequests`), so two
 * concurrent requests cannot both slip under a limit.
 */
export async function countRuleUsage(
  db: Executor,
  agentId: string,
  input: Pick<EvaluationInput, 'action' | 'resource'>,
  limited: readonly { ruleId: string; limit: RateLimit }[],
): Promise<RuleUsage> {
  const usage = new Map<string, number>();
  for (const { ruleId, limit } of limited) {
    const [row] = await db
      .select({ n: count() })
      .from(actionRequests)
      .where(
        and(
          eq(actionRequests.agentId, agentId),
          gt(actionRequests.createdAt, sql`now() - make_interval(secs => ${limit.windowSeconds})`),
          sql`${ruleId} = ANY(${actionRequests.matchedRules})`,
          limit.per === 'AGENT_ACTION' ? eq(actionRequests.action, input.action) : undefined,
          limit.per === 'AGENT_RESOURCE' ? eq(actionRequests.resource, input.resource) : undefined,
        ),
      );
    usage.set(ruleId, row?.n ?? 0);
  }
  return usage;
}

/** Serialises one agent's rate-limited requests until the transaction ends. */
export async function lockAgentRequests(tx: Executor, agentId: string): Promise<void> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${agentId}, ${ADVISORY_LOCKS.agentUsage}))`);
}

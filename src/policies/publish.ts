import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { desc, eq, sql } from 'drizzle-orm';
import { appendAuditEvents } from '../audit/append.js';
import type { Deps } from '../deps.js';
import { policyVersions, type AuditEventRow, type PolicyVersionRow } from '../db/schema.js';
import { InvalidPolicyInputError } from '../errors.js';
import { validatePolicy, type PolicyDocument, type PolicyRule } from '../policy/index.js';

// Serialises publishes so version numbers are assigned without gaps or collisions.
const PUBLISH_LOCK_KEY = 7_318_244_003;

/** Strips unset optional fields so equal policies hash equally however they were written. */
function normaliseRule(rule: PolicyRule): PolicyRule {
  const review = rule.review
    ? Object.fromEntries(Object.entries(rule.review).filter(([, v]) => v !== undefined && v !== null))
    : undefined;
  return Object.fromEntries(
    Object.entries({ ...rule, review }).filter(([, v]) => v !== undefined && v !== null),
  ) as unknown as PolicyRule;
}

export function policyContentHash(document: PolicyDocument): string {
  return createHash('sha256').update(canonicalize(document)!).digest('hex');
}

export interface PublishedPolicy {
  policy: PolicyVersionRow;
  events: AuditEventRow[];
}

/**
 * Validates a policy and stores it as the next immutable version, active at once: this instance
 * swaps its snapshot right after the commit. Nothing is stored when validation fails: the error
 * lists every problem by rule and field.
 */
export async function publishPolicy(deps: Deps, authorId: string, input: PolicyDocument): Promise<PublishedPolicy> {
  const document: PolicyDocument = { rules: input.rules.map(normaliseRule), defaultEffect: input.defaultEffect };
  const issues = validatePolicy(document);
  if (issues.length > 0) throw new InvalidPolicyInputError(issues);

  const published = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${PUBLISH_LOCK_KEY})`);
    const [latest] = await tx.select({ version: policyVersions.version }).from(policyVersions).orderBy(desc(policyVersions.version)).limit(1);
    const version = (latest?.version ?? 0) + 1;
    await tx.update(policyVersions).set({ active: false }).where(eq(policyVersions.active, true));
    const [policy] = await tx
      .insert(policyVersions)
      .values({
        version,
        rules: document.rules,
        defaultEffect: document.defaultEffect,
        contentHash: policyContentHash(document),
        authorId,
        active: true,
      })
      .returning();
    const events = await appendAuditEvents(tx, [
      {
        type: 'POLICY_PUBLISHED',
        actorId: authorId,
        data: {
          policyId: policy!.id,
          version,
          contentHash: policy!.contentHash,
          ruleCount: document.rules.length,
          defaultEffect: document.defaultEffect,
        },
      },
    ]);
    return { policy: policy!, events };
  });
  deps.policies.install(published.policy);
  deps.hub.publish(published.events);
  return published;
}

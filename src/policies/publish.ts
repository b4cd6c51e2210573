import canonicalize from 'canonicalize';
import { desc, eq, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Transaction } from '../db/client.js';
import { ADVISORY_LOCKS } from '../db/locks.js';
import { policyVersions, type AuditEventRow, type PolicyVersionRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidPolicyInputError } from '../errors.js';
import { validatePolicy, type PolicyDocument, type PolicyRule } from '../policy/index.js';
import { parseInput, storableText } from '../validation.js';

// Serialises publishes and activations so version numbers and the active flag never race.
const POLICY_LOCK_KEY = ADVISORY_LOCKS.policyChanges;

/** Drops unset optional fields, recursively, so equal policies hash equally however written. */
function withoutUnset<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUnset) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, withoutUnset(v)]),
  ) as T;
}

/**
 * The canonical form of a valid rule: unset fields, `requireReason: false`, `allowAmend: false`
 * and empty review lists are dropped, so a policy read back from the API (which shows both flags
 * as false when unset) and published again is stored and hashed the same. (Defaults spelled out,
 * such as `approvals: 1`, are kept as written.)
 */
export function canonicalRule(rule: PolicyRule): PolicyRule {
  const { requireReason, allowAmend, review, ...rest } = withoutUnset(rule);
  // An empty list means the same as none: any reviewer, no escalation steps.
  const { escalation, groups, ...reviewRest } = review ?? {};
  const canonicalReview = {
    ...(groups && groups.length > 0 ? { groups } : {}),
    ...reviewRest,
    ...(escalation && escalation.length > 0 ? { escalation } : {}),
  };
  return {
    ...rest,
    ...(requireReason ? { requireReason } : {}),
    ...(allowAmend ? { allowAmend } : {}),
    ...(Object.keys(canonicalReview).length > 0 ? { review: canonicalReview } : {}),
  };
}

export function policyContentHash(document: PolicyDocument): string {
  return createHash('sha256').update(canonicalize(document)!).digest('hex');
}

export interface PublishPolicyInput extends PolicyDocument {
  /** A note on what changed and why, kept with the version. */
  message?: string | null | undefined;
  /**
   * The active version the author edited (0 when none was active). When another publish or
   * activation got there first, the publish fails with a ConflictError instead of overwriting it.
   */
  expectedVersion?: number | null | undefined;
}

export interface PolicyChange {
  policy: PolicyVersionRow;
  events: AuditEventRow[];
}

/** Locks policy changes and checks the caller's view of the active version is still current. */
export async function lockPolicyChanges(tx: Transaction, expectedVersion: number | null | undefined): Promise<PolicyVersionRow | null> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${POLICY_LOCK_KEY})`);
  const [active] = await tx.select().from(policyVersions).where(eq(policyVersions.active, true)).limit(1);
  if (expectedVersion !== null && expectedVersion !== undefined && (active?.version ?? 0) !== expectedVersion) {
    throw new ConflictError(
      `The active policy is version ${active?.version ?? 0}, not ${expectedVersion}: someone changed it meanwhile. Review that version and retry.`,
    );
  }
  return active ?? null;
}

/**
 * Validates a policy and stores it as the next immutable version, active at once. Nothing is
 * stored when validation fails: the error lists every problem by rule and field.
 */
export async function publishPolicy(deps: Deps, author: Principal, input: PublishPolicyInput): Promise<PolicyChange> {
  authorize(author, Permission.PublishPolicy);
  const authorId = author.id;
  // Validate what the author wrote, before anything is dropped: a null label value must be an
  // error, not silently removed (which would widen the rule).
  const issues = validatePolicy({ rules: input.rules, defaultEffect: input.defaultEffect, redact: input.redact });
  if (issues.length > 0) throw new InvalidPolicyInputError(issues);
  // An empty `redact` is left out, so policies without one keep the hash they always had.
  const document: PolicyDocument = {
    rules: input.rules.map(canonicalRule),
    defaultEffect: input.defaultEffect,
    ...(input.redact && input.redact.length > 0 ? { redact: input.redact } : {}),
  };
  if (input.message != null) parseInput(z.object({ message: storableText(2_000) }), { message: input.message });

  const published = await deps.db.transaction(async (tx) => {
    const previous = await lockPolicyChanges(tx, input.expectedVersion);
    const [latest] = await tx
      .select({ version: policyVersions.version })
      .from(policyVersions)
      .orderBy(desc(policyVersions.version))
      .limit(1);
    const version = (latest?.version ?? 0) + 1;
    if (previous) await tx.update(policyVersions).set({ active: false }).where(eq(policyVersions.id, previous.id));
    const [policy] = await tx
      .insert(policyVersions)
      .values({
        version,
        rules: document.rules,
        defaultEffect: document.defaultEffect,
        redact: document.redact ?? [],
        contentHash: policyContentHash(document),
        message: input.message ?? null,
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
          previousVersion: previous?.version ?? null,
          contentHash: policy!.contentHash,
          ruleCount: document.rules.length,
          defaultEffect: document.defaultEffect,
          ...(document.redact ? { redact: document.redact } : {}),
          message: input.message ?? null,
        },
      },
    ]);
    return { policy: policy!, events };
  });
  deps.policies.installPublished(published.policy);
  deps.hub.publish(published.events);
  return published;
}

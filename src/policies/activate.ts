import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import { policyVersions } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.js';
import { parseInput, storableText } from '../validation.js';
import { lockPolicyChanges, type PolicyChange } from './publish.js';

export interface ActivatePolicyVersionInput {
  version: number;
  /** Why (e.g. "roll back: v7 blocked all deploys"); kept in the audit log. */
  reason?: string | null | undefined;
  expectedVersion?: number | null | undefined;
}

/** Makes an earlier (or any) published version the active one again: a rollback, audited. */
export async function activatePolicyVersion(deps: Deps, actor: Principal, input: ActivatePolicyVersionInput): Promise<PolicyChange> {
  authorize(actor, Permission.PublishPolicy);
  const actorId = actor.id;
  if (!Number.isInteger(input.version) || input.version < 1)
    throw InvalidInputError.of('version', 'must be a published version number (1 or more)');
  if (input.reason != null) parseInput(z.object({ reason: storableText(2_000) }), { reason: input.reason });
  const activated = await deps.db.transaction(async (tx) => {
    const previous = await lockPolicyChanges(tx, input.expectedVersion);
    const [target] = await tx.select().from(policyVersions).where(eq(policyVersions.version, input.version));
    if (!target) throw new NotFoundError('PolicyVersion', String(input.version));
    if (target.active) throw new ConflictError(`Version ${input.version} is already the active policy.`);
    if (previous) await tx.update(policyVersions).set({ active: false }).where(eq(policyVersions.id, previous.id));
    const [policy] = await tx.update(policyVersions).set({ active: true }).where(eq(policyVersions.id, target.id)).returning();
    const events = await appendAuditEvents(tx, [
      {
        type: 'POLICY_ACTIVATED',
        actorId,
        data: { policyId: target.id, version: target.version, previousVersion: previous?.version ?? null, reason: input.reason ?? null },
      },
    ]);
    return { policy: policy!, events };
  });
  deps.policies.install(activated.policy);
  deps.hub.publish(activated.events);
  return activated;
}

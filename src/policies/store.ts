import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { policyVersions, type PolicyVersionRow } from '../db/schema.js';
import { BUILT_IN_POLICY, compilePolicy, type CompiledPolicy } from '../policy/index.js';

/**
 * Holds the compiled active policy of this instance. Requests read `current()` once at their
 * start, so a publish swaps the whole snapshot atomically: no request sees half a policy.
 */
export interface PolicyStore {
  current(): CompiledPolicy;
  /** Installs a newly published version (after its transaction committed). */
  install(row: PolicyVersionRow): void;
  /** Reads the active version from the database, e.g. at start-up. */
  reload(db: Executor): Promise<void>;
}

export function compileVersion(row: PolicyVersionRow): CompiledPolicy {
  return compilePolicy({ rules: row.rules, defaultEffect: row.defaultEffect }, row.version);
}

export async function getActivePolicyVersion(db: Executor): Promise<PolicyVersionRow | null> {
  const [row] = await db.select().from(policyVersions).where(eq(policyVersions.active, true)).limit(1);
  return row ?? null;
}

export function createPolicyStore(): PolicyStore {
  let snapshot = BUILT_IN_POLICY;
  return {
    current: () => snapshot,
    install(row) {
      // Never go backwards: a late install of an older version must not replace a newer one.
      if (snapshot.version === null || row.version >= snapshot.version) snapshot = compileVersion(row);
    },
    async reload(db) {
      const row = await getActivePolicyVersion(db);
      snapshot = row ? compileVersion(row) : BUILT_IN_POLICY;
    },
  };
}

import { desc, eq, lt } from 'drizzle-orm';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Executor } from '../db/client.js';
import { policyVersions, type PolicyVersionRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { BUILT_IN_POLICY, compilePolicy, type CompiledPolicy } from '../policy/index.js';

/**
 * Holds this instance's compiled active policy. A request reads it once (through `fresh`), so a
 * publish swaps the whole snapshot atomically: no request ever sees half a policy.
 */
export interface PolicyStore {
  current(): CompiledPolicy;
  /** Installs a version this instance just published or activated (after its commit). */
  install(row: PolicyVersionRow): void;
  /**
   * Installs a version just published, unless a newer one is installed already: publishing
   * always makes the highest version active, so concurrent publishes finishing out of order keep
   * the newest.
   */
  installPublished(row: PolicyVersionRow): void;
  /** Reads the active version from the database, e.g. at start-up; returns what it installed. */
  reload(db: Executor): Promise<CompiledPolicy>;
  /**
   * The snapshot, checked against the active version in the database first (one indexed read,
   * inside the caller's transaction): a version published or activated on any instance decides
   * every request that starts after its commit.
   */
  fresh(db: Executor): Promise<CompiledPolicy>;
}

export function compileVersion(row: PolicyVersionRow): CompiledPolicy {
  return compilePolicy(
    { rules: row.rules, defaultEffect: row.defaultEffect, ...(row.redact.length > 0 ? { redact: row.redact } : {}) },
    row.version,
  );
}

export async function getActivePolicyVersion(db: Executor): Promise<PolicyVersionRow | null> {
  const [row] = await db.select().from(policyVersions).where(eq(policyVersions.active, true)).limit(1);
  return row ?? null;
}

export async function getPolicyVersion(db: Executor, version: number): Promise<PolicyVersionRow | null> {
  const [row] = await db.select().from(policyVersions).where(eq(policyVersions.version, version)).limit(1);
  return row ?? null;
}

/** Policy versions with their rules, newest first, for a viewer who may read them (AUDITOR, ADMIN). */
export async function readPolicyVersions(
  deps: Pick<Deps, 'db'>,
  viewer: Principal,
  page: { beforeVersion: number | null; limit: number },
): Promise<PolicyVersionRow[]> {
  authorize(viewer, Permission.ReadPolicy);
  return listPolicyVersions(deps.db, page);
}

/** Policy versions, newest first, keyset-paginated by version number. */
export async function listPolicyVersions(db: Executor, page: { beforeVersion: number | null; limit: number }): Promise<PolicyVersionRow[]> {
  const query = db.select().from(policyVersions);
  const filtered = page.beforeVersion === null ? query : query.where(lt(policyVersions.version, page.beforeVersion));
  return filtered.orderBy(desc(policyVersions.version)).limit(page.limit);
}

export function createPolicyStore(): PolicyStore {
  let snapshot = BUILT_IN_POLICY;
  // Compiled versions by number, so requests that find the snapshot stale at the same moment
  // compile the active version once; a version's rules never change, so a cached one stays right.
  const compiled = new Map<number, CompiledPolicy>();
  const compiledOnce = (row: PolicyVersionRow) => {
    let policy = compiled.get(row.version);
    if (!policy) {
      policy = compileVersion(row);
      compiled.clear(); // keep one: the active version is all that is needed
      compiled.set(row.version, policy);
    }
    return policy;
  };
  return {
    current: () => snapshot,
    install(row) {
      snapshot = compiledOnce(row);
    },
    installPublished(row) {
      // Publishes that finish out of order must not leave an older one installed.
      if (snapshot.version === null || row.version > snapshot.version) snapshot = compiledOnce(row);
    },
    async reload(db) {
      const row = await getActivePolicyVersion(db);
      snapshot = row ? compiledOnce(row) : BUILT_IN_POLICY;
      return snapshot;
    },
    async fresh(db) {
      const current = snapshot;
      const [row] = await db
        .select({ version: policyVersions.version })
        .from(policyVersions)
        .where(eq(policyVersions.active, true))
        .limit(1);
      if ((row?.version ?? null) === current.version) return current;
      // Return what this request read from the database, whatever other requests install meanwhile.
      const active = await getActivePolicyVersion(db);
      const policy = active ? compiledOnce(active) : BUILT_IN_POLICY;
      snapshot = policy;
      return policy;
    },
  };
}

/**
 * Every PostgreSQL advisory lock key Greenlight takes, in one place so no two uses share a key
 * (a test checks they are distinct). Any constants work; they only have to be the same on every
 * instance. Advisory locks are per database.
 */
export const ADVISORY_LOCKS = {
  /** Session lock: one instance at a time applies migrations. */
  migration: 7_318_244_001,
  /** Transaction lock: the first start creates the bootstrap administrator once. */
  bootstrap: 7_318_244_002,
  /** Transaction lock: policy publishes and activations, one at a time. */
  policyChanges: 7_318_244_003,
  /** Seed of the per-agent transaction lock (`hashtextextended(agentId, seed)`) that serialises rate-limit counts. */
  agentUsage: 7_318_244_004,
  /** Session lock held by the instance that seals the audit chain (the sealer's leadership). */
  sealer: 7_318_244_005,
  /**
   * Transaction lock: changes of principals' roles and disabled state, one at a time, so that two
   * administrators demoting or disabling each other at once cannot leave no enabled ADMIN.
   */
  principalChanges: 7_318_244_006,
} as const;

import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { actionRequests, principals } from './schema.js';

// Approvals that outlive one request: the receipts executing systems redeem, and reviewers'
// standing approvals. Apart from schema.ts only to keep files short; schema.ts re-exports them.

/**
 * A reviewer's approval of requests like one they approved, for a while: the same agent and
 * action, a resource glob, optionally the same params (their hash). Applied when a request
 * escalates, as that reviewer's review of it.
 */
export const standingApprovals = pgTable(
  'standing_approvals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    reviewerId: uuid('reviewer_id')
      .notNull()
      .references(() => principals.id),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => principals.id),
    action: text('action').notNull(),
    /** The exact resource (the default)... */
    resource: text('resource'),
    /** ...or a resource glob in the policy's glob language, when the reviewer chose one. */
    resourceGlob: text('resource_glob'),
    /** The human the source request was made for, if any: a covered request must be made for the same one. */
    onBehalfOfId: uuid('on_behalf_of_id').references(() => principals.id),
    /** The rules that escalated the source request: a covered request must be escalated by some of these only. */
    ruleIds: text('rule_ids').array().notNull(),
    /** Set when the reviewer asked for the same params (forced after a change of params): the RFC 8785 hash they must have. */
    paramsSha256: text('params_sha256'),
    /** The request whose approval granted it. */
    sourceRequestId: uuid('source_request_id')
      .notNull()
      .references(() => actionRequests.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedById: uuid('revoked_by_id').references(() => principals.id),
  },
  (t) => [
    index('standing_approvals_live_idx')
      .on(t.agentId, t.action)
      .where(sql`${t.revokedAt} IS NULL`),
    index('standing_approvals_reviewer_idx').on(t.reviewerId),
    check('standing_approvals_resource_check', sql`(${t.resource} IS NULL) <> (${t.resourceGlob} IS NULL)`),
  ],
);

/** Signed approval receipts already redeemed: one row per request, so a receipt is redeemed once. */
export const receiptRedemptions = pgTable('receipt_redemptions', {
  requestId: uuid('request_id')
    .primaryKey()
    .references(() => actionRequests.id),
  /** The receipt's `jti`. */
  jti: text('jti').notNull(),
  redeemedById: uuid('redeemed_by_id')
    .notNull()
    .references(() => principals.id),
  redeemedAt: timestamp('redeemed_at', { withTimezone: true }).notNull().defaultNow(),
});

export type ReceiptRedemptionRow = typeof receiptRedemptions.$inferSelect;
export type StandingApprovalRow = typeof standingApprovals.$inferSelect;

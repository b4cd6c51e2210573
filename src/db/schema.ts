import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  type AnyPgColumn,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  ActionOutcome,
  ActionStatus,
  AuditEventType,
  DecisionSource,
  PolicyEffect,
  PrincipalKind,
  Role,
  Verdict,
  values,
} from '../vocabulary.js';
import type { EscalationStep, Evaluation, PolicyRule } from '../policy/index.js';
import { standingApprovals } from './schema-grants.js';

export const principalKind = pgEnum('principal_kind', values(PrincipalKind));
export const role = pgEnum('role', values(Role));
export const actionStatus = pgEnum('action_status', values(ActionStatus));
export const decisionSource = pgEnum('decision_source', values(DecisionSource));
export const policyEffect = pgEnum('policy_effect', values(PolicyEffect));
export const verdict = pgEnum('verdict', values(Verdict));
export const actionOutcome = pgEnum('action_outcome', values(ActionOutcome));
export const auditEventType = pgEnum('audit_event_type', values(AuditEventType));

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** Agents and humans that call Greenlight. */
export const principals = pgTable('principals', {
  id: uuid('id').primaryKey().defaultRandom(),
  kind: principalKind('kind').notNull(),
  name: text('name').notNull(),
  roles: role('roles').array().notNull(),
  groups: text('groups')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
  /** For agents: the human responsible for it, who may therefore never approve its requests. */
  ownerId: uuid('owner_id').references((): AnyPgColumn => principals.id),
  createdAt: createdAt(),
  /** Set while the principal is disabled: none of its tokens authenticates. */
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  disabledReason: text('disabled_reason'),
});

/** Bearer tokens, several per principal, each named; only the SHA-256 of a token is ever stored. */
export const tokens = pgTable(
  'tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    principalId: uuid('principal_id')
      .notNull()
      .references(() => principals.id),
    /** What the token is for, e.g. `ci-deploys`; unique among the principal's tokens that are not revoked. */
    name: text('name').notNull().default('default'),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    /** After this instant the token no longer authenticates; null: it does not expire. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** When it last authenticated, to the minute or so (kept in memory and written in batches). */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('tokens_token_hash_key').on(t.tokenHash),
    index('tokens_principal_idx').on(t.principalId),
    uniqueIndex('tokens_principal_name_key')
      .on(t.principalId, t.name)
      .where(sql`${t.revokedAt} IS NULL`),
  ],
);

/**
 * A human's permission for one agent to act on their behalf (`onBehalfOf`) for the actions its
 * globs match, until it expires or is revoked. An agent's owner needs none.
 */
export const delegations = pgTable(
  'delegations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    humanId: uuid('human_id')
      .notNull()
      .references(() => principals.id),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => principals.id),
    /** Globs over action names, e.g. `deploy.*`. */
    actions: text('actions').array().notNull(),
    /** Who granted it: the human, or an ADMIN for them. */
    grantedById: uuid('granted_by_id').references(() => principals.id),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('delegations_agent_human_idx').on(t.agentId, t.humanId), index('delegations_human_idx').on(t.humanId)],
);

/** Immutable published policy versions; exactly one is active once any is published. */
export const policyVersions = pgTable(
  'policy_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    version: integer('version').notNull(),
    rules: jsonb('rules').$type<PolicyRule[]>().notNull(),
    defaultEffect: policyEffect('default_effect').notNull(),
    contentHash: text('content_hash').notNull(),
    /** Paths of sensitive request values (`params.password`), masked for everyone but ADMIN. */
    redact: text('redact')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** The author's note on what changed and why, like a commit message. */
    message: text('message'),
    authorId: uuid('author_id').references(() => principals.id),
    active: boolean('active').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('policy_versions_version_key').on(t.version),
    // At most one row can be active: the partial index holds one entry at a time.
    uniqueIndex('policy_versions_one_active')
      .on(t.active)
      .where(sql`${t.active}`),
  ],
);

/** Stored next to a request: the full evaluation, so history never depends on a later policy. */
export type StoredEvaluation = Evaluation;

/**
 * One review requirement of a pending request (one per deciding ESCALATE rule), as it stands:
 * `reached` counts the escalation steps already applied, whose groups now count too.
 */
export interface RequestRequirement {
  ruleId: string | null;
  groups: string[];
  approvals: number;
  escalation: EscalationStep[];
  reached: number;
}

export const actionRequests = pgTable(
  'action_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // Monotonic position for keyset pagination; the uuid stays the public identifier.
    position: bigint('position', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => principals.id),
    onBehalfOfId: uuid('on_behalf_of_id').references(() => principals.id),
    /** The agent's owner when it asked: a party to the request, so never one of its reviewers. */
    ownerId: uuid('owner_id').references(() => principals.id),
    action: text('action').notNull(),
    resource: text('resource').notNull(),
    params: jsonb('params').$type<Record<string, unknown>>(),
    reason: text('reason'),
    /** Free labels the agent sent with the request; policies see them as `context`. */
    context: jsonb('context').$type<Record<string, string>>().notNull().default({}),
    idempotencyKey: text('idempotency_key'),
    payloadHash: text('payload_hash').notNull(),
    status: actionStatus('status').notNull(),
    effect: policyEffect('effect').notNull(),
    evaluation: jsonb('evaluation').$type<StoredEvaluation>().notNull(),
    /** Copy of `evaluation.matchedRules` as an array column, so rate limits can count a rule's recent matches. */
    matchedRules: text('matched_rules')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Every requirement's current groups united; empty when some requirement accepts any reviewer. */
    requiredGroups: text('required_groups')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** The sum of the requirements' approvals: the least number of distinct people needed. */
    requiredApprovals: integer('required_approvals').notNull().default(0),
    reviewRequirements: jsonb('review_requirements').$type<RequestRequirement[]>().notNull().default([]),
    /** When the next escalation step of any requirement is due; null when none is left. */
    nextEscalationAt: timestamp('next_escalation_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** When reviewers are to be reminded (`action.expiring`); null once they were, or for requests never pending. */
    remindAt: timestamp('remind_at', { withTimezone: true }),
    /** When reviewers were reminded that the deadline is near (ACTION_EXPIRING); null before. */
    remindedAt: timestamp('reminded_at', { withTimezone: true }),
    /** How many times reviewers extended the deadline. */
    extensions: integer('extensions').notNull().default(0),
    /** Bumped by each approve-with-changes: only approvals of the current revision count. */
    revision: integer('revision').notNull().default(0),
    /** A reviewer's changed params (approve with changes); `params` keeps what the agent asked. */
    amendedParams: jsonb('amended_params').$type<Record<string, unknown>>(),
    /**
     * The policy's `redact` paths when the request was made (and any added by the policy in force
     * at an amendment): its values there are masked for everyone but ADMIN.
     */
    redactPaths: text('redact_paths')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** The policy's evaluation of the amended request. */
    amendedEvaluation: jsonb('amended_evaluation').$type<StoredEvaluation>(),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    decidedBy: decisionSource('decided_by'),
    deciderId: uuid('decider_id').references(() => principals.id),
    decisionReason: text('decision_reason'),
    /** Until when an approval may be acted on (and its outcome reported); set when APPROVED. */
    validUntil: timestamp('valid_until', { withTimezone: true }),
    outcome: actionOutcome('outcome'),
    outcomeDetail: text('outcome_detail'),
    outcomeReportedAt: timestamp('outcome_reported_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('action_requests_position_key').on(t.position),
    uniqueIndex('action_requests_idempotency_key').on(t.agentId, t.idempotencyKey),
    index('action_requests_agent_position_idx').on(t.agentId, t.position),
    index('action_requests_status_position_idx').on(t.status, t.position),
    index('action_requests_agent_created_idx').on(t.agentId, t.createdAt),
    index('action_requests_created_idx').on(t.createdAt),
    // The audit log's action-glob and resource-prefix filters (LIKE 'prefix%').
    index('action_requests_action_idx').on(t.action.op('text_pattern_ops')),
    index('action_requests_resource_idx').on(t.resource.op('text_pattern_ops')),
    // The sweeper's scan: only pending requests, by deadline.
    index('action_requests_pending_expiry_idx')
      .on(t.expiresAt)
      .where(sql`${t.status} = 'PENDING'`),
    // The sweeper's other scan: pending requests whose next escalation step is due.
    index('action_requests_pending_escalation_idx')
      .on(t.nextEscalationAt)
      .where(sql`${t.status} = 'PENDING'`),
    // The reminder scan: pending requests whose reminder is due.
    index('action_requests_pending_reminder_idx')
      .on(t.remindAt)
      .where(sql`${t.status} = 'PENDING' AND ${t.remindAt} IS NOT NULL`),
    check('action_requests_decided_check', sql`(${t.status} = 'PENDING') = (${t.decidedAt} IS NULL)`),
  ],
);

export const reviews = pgTable(
  'reviews',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => actionRequests.id),
    reviewerId: uuid('reviewer_id')
      .notNull()
      .references(() => principals.id),
    verdict: verdict('verdict').notNull(),
    comment: text('comment'),
    /** The reviewer's groups when reviewing: quorum is judged on them, whatever changes later. */
    reviewerGroups: text('reviewer_groups')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** The request revision this review was given on (see `action_requests.revision`). */
    revision: integer('revision').notNull().default(0),
    /** Set when the reviewer approved with changes: the params approved instead. */
    amendedParams: jsonb('amended_params').$type<Record<string, unknown>>(),
    /** Set when a standing approval stood in for the reviewer (the review was not given by hand). */
    standingApprovalId: uuid('standing_approval_id').references((): AnyPgColumn => standingApprovals.id),
    createdAt: createdAt(),
  },
  // A person reviews a revision once: quorum counts people, not clicks.
  (t) => [uniqueIndex('reviews_request_reviewer_revision_key').on(t.requestId, t.reviewerId, t.revision)],
);

/**
 * Append-only record of every state change; also the event log subscriptions read from. A
 * trigger (migration 0005) refuses UPDATE and DELETE, except the one-time sealing that sets
 * `seq`, `prev_hash`, `hash` and `sealed_at` on a row that has none.
 */
const sealed = (seq: AnyPgColumn) => sql`${seq} IS NOT NULL`;

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    type: auditEventType('type').notNull(),
    actorId: uuid('actor_id').references(() => principals.id),
    requestId: uuid('request_id').references(() => actionRequests.id),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    /** Position in the hash chain, gap-free from 1, assigned by the sealer after commit. */
    seq: bigint('seq', { mode: 'number' }),
    /** The hash of the event at `seq - 1` (64 zeros for the first). */
    prevHash: text('prev_hash'),
    /** sha256(prevHash ‖ canonical(event)), hex. */
    hash: text('hash'),
    sealedAt: timestamp('sealed_at', { withTimezone: true }),
    /**
     * The writing transaction's id (`pg_current_xact_id()`). Events are delivered live in
     * (tx_id, id) order, and only once every transaction with a lower id has ended, so an event
     * whose transaction commits late is never skipped (see src/events/log.ts).
     */
    txId: bigint('tx_id', { mode: 'number' })
      .notNull()
      .default(sql`(pg_current_xact_id()::text::bigint)`),
  },
  (t) => [
    index('audit_events_request_id_idx').on(t.requestId, t.id),
    // The live order: what each instance's event hub reads after its position.
    index('audit_events_tx_position_idx').on(t.txId, t.id),
    // The chain's indexes hold sealed rows only: an insert (the write path) adds no entry to them;
    // the sealer's one update adds each row once. Queries on them say `seq IS NOT NULL` or
    // compare `seq`, which implies it.
    uniqueIndex('audit_events_seq_key').on(t.seq).where(sealed(t.seq)),
    // Filtered pages of the chain (`auditEvents`): each filter's column, then seq for the keyset.
    // Not partial: PostgreSQL gathers statistics on an index expression only for a non-partial
    // index, and without them the planner misjudged the agent filter and scanned a day by created_at.
    index('audit_events_agent_seq_idx').on(sql`(${t.data} ->> 'agentId')`, t.seq),
    // An agent's events in a time window (a compliance question): the window's rows exactly.
    index('audit_events_agent_time_idx')
      .on(sql`(${t.data} ->> 'agentId')`, t.createdAt)
      .where(sealed(t.seq)),
    index('audit_events_actor_seq_idx').on(t.actorId, t.seq).where(sealed(t.seq)),
    index('audit_events_type_seq_idx').on(t.type, t.seq).where(sealed(t.seq)),
    index('audit_events_request_seq_idx').on(t.requestId, t.seq).where(sealed(t.seq)),
    index('audit_events_created_at_idx').on(t.createdAt).where(sealed(t.seq)),
    // The sealer's scan: committed events without a place in the chain yet.
    index('audit_events_unsealed_idx')
      .on(t.id)
      .where(sql`${t.seq} IS NULL`),
  ],
);

/** Signed statements "the chain up to `seq` ends in `hash`", made by the sealer. Append-only. */
export const auditCheckpoints = pgTable('audit_checkpoints', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  hash: text('hash').notNull(),
  /** RFC 7638 thumbprint of the Ed25519 public key that signed. */
  keyId: text('key_id').notNull(),
  /** Ed25519 signature (base64url) of canonical({"hash","seq"}). */
  signature: text('signature').notNull(),
  createdAt: createdAt(),
});

/**
 * The values a policy's `redact` paths took out of an audit event's data (which holds their
 * markers), for ADMIN eyes only. Outside the hash chain: the chain covers the markers.
 */
export const auditRedactedValues = pgTable('audit_redacted_values', {
  eventId: bigint('event_id', { mode: 'number' })
    .primaryKey()
    .references(() => auditEvents.id),
  /** `[{ path, value }]`: where each value was in the event's data, and the value. */
  redacted: jsonb('redacted').$type<{ path: (string | number)[]; value: unknown }[]>().notNull(),
});

/** Secrets this deployment makes once and shares across instances (the redaction key). */
export const serverSecrets = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  /** base64url. */
  value: text('value').notNull(),
  createdAt: createdAt(),
});

export type PrincipalRow = typeof principals.$inferSelect;
export type TokenRow = typeof tokens.$inferSelect;
export type DelegationRow = typeof delegations.$inferSelect;
export type ActionRequestRow = typeof actionRequests.$inferSelect;
export type ReviewRow = typeof reviews.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;
export type PolicyVersionRow = typeof policyVersions.$inferSelect;
export type AuditCheckpointRow = typeof auditCheckpoints.$inferSelect;

export * from './schema-grants.js';
export * from './schema-notifications.js';

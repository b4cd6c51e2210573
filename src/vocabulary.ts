/**
 * The closed vocabularies of the domain, each an `as const` object with a derived union type.
 * They are mirrored as PostgreSQL enums (src/db/schema.ts) and GraphQL enums (src/graphql), so
 * this file is the one source of truth for each.
 */
export { PolicyEffect, POLICY_EFFECTS } from './policy/types.js';

export const PrincipalKind = { AGENT: 'AGENT', HUMAN: 'HUMAN' } as const;
export type PrincipalKind = (typeof PrincipalKind)[keyof typeof PrincipalKind];

export const Role = {
  AGENT: 'AGENT',
  REVIEWER: 'REVIEWER',
  AUDITOR: 'AUDITOR',
  ADMIN: 'ADMIN',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export const ActionStatus = {
  PENDING: 'PENDING',
  APPROVED: 'APPROVED',
  REJECTED: 'REJECTED',
  BLOCKED: 'BLOCKED',
  EXPIRED: 'EXPIRED',
  CANCELLED: 'CANCELLED',
} as const;
export type ActionStatus = (typeof ActionStatus)[keyof typeof ActionStatus];

/** Who or what moved a request out of PENDING (or decided it at once). */
export const DecisionSource = {
  POLICY: 'POLICY',
  REVIEWER: 'REVIEWER',
  TIMEOUT: 'TIMEOUT',
  REQUESTER: 'REQUESTER',
  ADMIN: 'ADMIN',
} as const;
export type DecisionSource = (typeof DecisionSource)[keyof typeof DecisionSource];

/**
 * The parties to a request, who may never review it (separation of duties): the agent that asked,
 * any other agent, the agent's owner and the human it acts for.
 */
export const RequestParty = {
  REQUESTING_AGENT: 'REQUESTING_AGENT',
  AGENT: 'AGENT',
  OWNER: 'OWNER',
  ON_BEHALF_OF: 'ON_BEHALF_OF',
} as const;
export type RequestParty = (typeof RequestParty)[keyof typeof RequestParty];

export const Verdict = { APPROVE: 'APPROVE', REJECT: 'REJECT' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** What happened when the agent performed an approved action. */
export const ActionOutcome = { SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED' } as const;
export type ActionOutcome = (typeof ActionOutcome)[keyof typeof ActionOutcome];

/** Past-tense names of every state change the audit log records. */
export const AuditEventType = {
  PRINCIPAL_CREATED: 'PRINCIPAL_CREATED',
  /** An ADMIN changed a principal's name, roles, groups, labels or owner. */
  PRINCIPAL_UPDATED: 'PRINCIPAL_UPDATED',
  /** An ADMIN disabled a principal: its tokens stop working at once. */
  PRINCIPAL_DISABLED: 'PRINCIPAL_DISABLED',
  PRINCIPAL_ENABLED: 'PRINCIPAL_ENABLED',
  /** The bootstrap administrator's token changed with `ADMIN_TOKEN`. */
  TOKEN_ROTATED: 'TOKEN_ROTATED',
  TOKEN_ISSUED: 'TOKEN_ISSUED',
  TOKEN_REVOKED: 'TOKEN_REVOKED',
  /** A human let an agent act on their behalf (`onBehalfOf`) for some actions. */
  DELEGATION_GRANTED: 'DELEGATION_GRANTED',
  DELEGATION_REVOKED: 'DELEGATION_REVOKED',
  /** An agent named a human it may not act for; no request was made. */
  DELEGATION_REFUSED: 'DELEGATION_REFUSED',
  POLICY_PUBLISHED: 'POLICY_PUBLISHED',
  POLICY_ACTIVATED: 'POLICY_ACTIVATED',
  ACTION_REQUESTED: 'ACTION_REQUESTED',
  ACTION_APPROVED: 'ACTION_APPROVED',
  ACTION_BLOCKED: 'ACTION_BLOCKED',
  ACTION_ESCALATED: 'ACTION_ESCALATED',
  REVIEW_SUBMITTED: 'REVIEW_SUBMITTED',
  /** Someone who may never review the request tried to (separation of duties). */
  REVIEW_REFUSED: 'REVIEW_REFUSED',
  /** A reviewer moved the review deadline. */
  ACTION_EXTENDED: 'ACTION_EXTENDED',
  /** A pending request reached its reminder (`review.remindAt` of its timeout): its deadline is near. */
  ACTION_EXPIRING: 'ACTION_EXPIRING',
  /** An ADMIN decided a pending request outside the review rules (break-glass). */
  DECISION_OVERRIDDEN: 'DECISION_OVERRIDDEN',
  ACTION_REJECTED: 'ACTION_REJECTED',
  ACTION_EXPIRED: 'ACTION_EXPIRED',
  ACTION_CANCELLED: 'ACTION_CANCELLED',
  OUTCOME_REPORTED: 'OUTCOME_REPORTED',
  /** An executing system redeemed the signed receipt of an approved request (once). */
  RECEIPT_REDEEMED: 'RECEIPT_REDEEMED',
  /** A reviewer approved requests like one they approved, for a while (a standing approval). */
  STANDING_APPROVAL_GRANTED: 'STANDING_APPROVAL_GRANTED',
  /** A standing approval stood in for its reviewer's approval of a new request. */
  STANDING_APPROVAL_USED: 'STANDING_APPROVAL_USED',
  STANDING_APPROVAL_REVOKED: 'STANDING_APPROVAL_REVOKED',
  /** An ADMIN registered a webhook endpoint (never its secret). */
  WEBHOOK_CREATED: 'WEBHOOK_CREATED',
  WEBHOOK_UPDATED: 'WEBHOOK_UPDATED',
  WEBHOOK_DELETED: 'WEBHOOK_DELETED',
  /** A webhook's signing secret was replaced; the old one signs alongside until the grace period ends. */
  WEBHOOK_SECRET_ROTATED: 'WEBHOOK_SECRET_ROTATED',
  /** An ADMIN asked for a webhook delivery to be sent again. */
  WEBHOOK_REDELIVERED: 'WEBHOOK_REDELIVERED',
  /** A check of the audit log's hash chain and signed checkpoints found it broken. */
  AUDIT_VERIFICATION_FAILED: 'AUDIT_VERIFICATION_FAILED',
} as const;
export type AuditEventType = (typeof AuditEventType)[keyof typeof AuditEventType];

/** Audit event types that change who a principal is or which of its tokens work (`data.principalId`). */
export const AUTH_EVENT_TYPES: ReadonlySet<AuditEventType> = new Set([
  AuditEventType.PRINCIPAL_UPDATED,
  AuditEventType.PRINCIPAL_DISABLED,
  AuditEventType.PRINCIPAL_ENABLED,
  AuditEventType.TOKEN_ROTATED,
  AuditEventType.TOKEN_REVOKED,
]);

/** Audit event types after which a request is no longer PENDING. */
export const DECISION_EVENT_TYPES: ReadonlySet<AuditEventType> = new Set([
  AuditEventType.ACTION_APPROVED,
  AuditEventType.ACTION_BLOCKED,
  AuditEventType.ACTION_REJECTED,
  AuditEventType.ACTION_EXPIRED,
  AuditEventType.ACTION_CANCELLED,
]);

/** The events a webhook may subscribe to (or `*` for all), each from audit events of these types. */
export const WebhookEvent = {
  'action.requested': ['ACTION_REQUESTED'],
  'action.escalated': ['ACTION_ESCALATED'],
  'action.approved': ['ACTION_APPROVED'],
  'action.rejected': ['ACTION_REJECTED'],
  'action.blocked': ['ACTION_BLOCKED'],
  'action.expired': ['ACTION_EXPIRED'],
  'action.cancelled': ['ACTION_CANCELLED'],
  'action.expiring': ['ACTION_EXPIRING'],
  'action.outcome_reported': ['OUTCOME_REPORTED'],
  'policy.published': ['POLICY_PUBLISHED', 'POLICY_ACTIVATED'],
  'principal.changed': [
    'PRINCIPAL_CREATED',
    'PRINCIPAL_UPDATED',
    'PRINCIPAL_DISABLED',
    'PRINCIPAL_ENABLED',
    'TOKEN_ISSUED',
    'TOKEN_REVOKED',
    'TOKEN_ROTATED',
  ],
  'audit.verification_failed': ['AUDIT_VERIFICATION_FAILED'],
} as const satisfies Record<string, readonly AuditEventType[]>;
export type WebhookEvent = keyof typeof WebhookEvent;
export const WEBHOOK_EVENTS = Object.keys(WebhookEvent) as WebhookEvent[];

/** What a webhook sends: signed Standard Webhooks JSON, or a Slack incoming-webhook message. */
export const WebhookFormat = { JSON: 'JSON', SLACK: 'SLACK' } as const;
export type WebhookFormat = (typeof WebhookFormat)[keyof typeof WebhookFormat];

/** Where a webhook delivery stands. */
export const DeliveryStatus = { PENDING: 'PENDING', DELIVERED: 'DELIVERED', DEAD: 'DEAD' } as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];

export function values<T extends Record<string, string>>(vocabulary: T): [T[keyof T], ...T[keyof T][]] {
  return Object.values(vocabulary) as [T[keyof T], ...T[keyof T][]];
}

/** Why a signed approval receipt was refused, by `redeemReceipt` or by the SDK's offline `verifyReceipt`. */
export const ReceiptProblem = {
  /** Not a compact JWS of a Greenlight receipt (wrong shape, header or claims). */
  MALFORMED: 'MALFORMED',
  /** Signed with a key this deployment does not publish (`kid` unknown). */
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  /** The signature does not match the header and claims: altered, or signed by someone else. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** Past `exp` (the request's `validUntil`). */
  EXPIRED: 'EXPIRED',
  /** Before `nbf`. */
  NOT_YET_VALID: 'NOT_YET_VALID',
  /** Issued by another deployment (`iss`). */
  WRONG_ISSUER: 'WRONG_ISSUER',
  ACTION_MISMATCH: 'ACTION_MISMATCH',
  RESOURCE_MISMATCH: 'RESOURCE_MISMATCH',
  /** `params_sha256` is not the hash of the params about to be used. */
  PARAMS_MISMATCH: 'PARAMS_MISMATCH',
} as const;
export type ReceiptProblem = (typeof ReceiptProblem)[keyof typeof ReceiptProblem];

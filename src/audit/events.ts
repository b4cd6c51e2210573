import type { RedactedValue } from './redaction.js';
import type { RuleError } from '../policy/index.js';
import type {
  ActionOutcome,
  ActionStatus,
  AuditEventType,
  DecisionSource,
  PolicyEffect,
  PrincipalKind,
  RequestParty,
  Role,
  Verdict,
} from '../vocabulary.js';

/**
 * The typed metadata of each audit event type. Request events all carry `agentId`, so event
 * consumers can route them (for instance to the agent's own `actionDecided` stream) without a
 * database read.
 */
/** The principal fields `updatePrincipal` may change. */
export type PrincipalField = 'name' | 'roles' | 'groups' | 'labels' | 'ownerId';

export interface AuditEventData {
  PRINCIPAL_CREATED: {
    principalId: string;
    kind: PrincipalKind;
    name: string;
    roles: Role[];
    groups: string[];
    ownerId?: string | null;
    /** Its first token (never the secret). */
    tokenId?: string;
    tokenName?: string;
  };
  PRINCIPAL_UPDATED: { principalId: string; changes: Partial<Record<PrincipalField, { from: unknown; to: unknown }>> };
  PRINCIPAL_DISABLED: { principalId: string; reason: string | null; cancelledRequests: number };
  PRINCIPAL_ENABLED: { principalId: string };
  TOKEN_ROTATED: { principalId: string; revokedTokens: number };
  TOKEN_ISSUED: { principalId: string; tokenId: string; name: string; expiresAt: string | null };
  TOKEN_REVOKED: { principalId: string; tokenId: string; name: string };
  DELEGATION_GRANTED: { delegationId: string; humanId: string; agentId: string; actions: string[]; expiresAt: string | null };
  DELEGATION_REVOKED: { delegationId: string; humanId: string; agentId: string };
  /** No request exists: the agent's attempt is recorded, with what it asked. */
  DELEGATION_REFUSED: { agentId: string; onBehalfOfId: string; action: string; resource: string };
  POLICY_PUBLISHED: {
    policyId: string;
    version: number;
    previousVersion: number | null;
    contentHash: string;
    ruleCount: number;
    defaultEffect: PolicyEffect;
    /** The policy's redaction paths, when it has any. */
    redact?: string[];
    message: string | null;
  };
  POLICY_ACTIVATED: { policyId: string; version: number; previousVersion: number | null; reason: string | null };
  ACTION_REQUESTED: {
    agentId: string;
    action: string;
    resource: string;
    params: Record<string, unknown> | null;
    context: Record<string, string>;
    onBehalfOfId: string | null;
    idempotencyKey: string | null;
    reason: string | null;
  };
  ACTION_ESCALATED: {
    agentId: string;
    policyVersion: number | null;
    matchedRules: string[];
    /** CEL errors during evaluation: they never allow, and are kept here for the record. */
    errors: RuleError[];
    requiredGroups: string[];
    requiredApprovals: number;
    /** One per deciding rule: each must be met. */
    requirements?: { ruleId: string | null; groups: string[]; approvals: number }[];
    expiresAt: string;
    /** Set when an escalation step (not the request itself) caused the event. */
    step?: { previousRequiredGroups: string[]; addedGroups: string[] };
  };
  ACTION_APPROVED: DecisionData;
  ACTION_BLOCKED: DecisionData;
  ACTION_REJECTED: DecisionData;
  ACTION_EXPIRED: DecisionData;
  ACTION_CANCELLED: DecisionData;
  OUTCOME_REPORTED: { agentId: string; outcome: ActionOutcome; detail: string | null };
  /** `jti` is the receipt's id; `redeemedById` the principal that presented it. */
  RECEIPT_REDEEMED: { agentId: string; redeemedById: string; jti: string; keyId: string };
  /** `requestId` (the column) is the request whose approval granted it. */
  STANDING_APPROVAL_GRANTED: {
    agentId: string;
    standingApprovalId: string;
    reviewerId: string;
    action: string;
    resource: string | null;
    resourceGlob: string | null;
    /** Only requests with the same params (their hash stays out of the log: it would undo redaction). */
    sameParams: boolean;
    onBehalfOfId: string | null;
    ruleIds: string[];
    expiresAt: string;
  };
  /** `requestId` is the request it approved. */
  STANDING_APPROVAL_USED: { agentId: string; standingApprovalId: string; reviewerId: string };
  STANDING_APPROVAL_REVOKED: {
    agentId: string;
    standingApprovalId: string;
    reviewerId: string;
    revokedById: string;
    reason: string | null;
  };
  /** Webhook events never carry the secret. */
  WEBHOOK_CREATED: { webhookId: string; url: string; events: string[]; format: string; description: string | null };
  WEBHOOK_UPDATED: { webhookId: string; changes: Record<string, { from: unknown; to: unknown }> };
  WEBHOOK_DELETED: { webhookId: string; url: string };
  WEBHOOK_SECRET_ROTATED: { webhookId: string; previousSecretUntil: string };
  WEBHOOK_REDELIVERED: { webhookId: string; deliveryId: string; eventType: string };
  REVIEW_SUBMITTED: {
    agentId: string;
    reviewerId: string;
    verdict: Verdict;
    comment: string | null;
    approvalsReceived: number;
    /** The request revision reviewed; a review with `amendedParams` starts a new one. */
    revision?: number;
    amendedParams?: Record<string, unknown> | null;
    /** Set when a standing approval stood in for the reviewer. */
    standingApprovalId?: string;
  };
  /** `verdict` is null for a refused deadline extension. */
  REVIEW_REFUSED: { agentId: string; principalId: string; party: RequestParty; verdict: Verdict | null };
  ACTION_EXTENDED: {
    agentId: string;
    reviewerId: string;
    bySeconds: number;
    previousExpiresAt: string;
    expiresAt: string;
    extensions: number;
    reason: string | null;
  };
  /** The reminder: `secondsLeft` before `expiresAt` when it was sent. */
  ACTION_EXPIRING: { agentId: string; expiresAt: string; secondsLeft: number };
  /** What a verification found (`checkedById` is null when the service's own periodic check ran it). */
  AUDIT_VERIFICATION_FAILED: {
    checkedById: string | null;
    fromSeq: number;
    toSeq: number;
    firstBrokenSeq: number | null;
    reason: string | null;
    message: string | null;
  };
  DECISION_OVERRIDDEN: { agentId: string; adminId: string; verdict: Verdict; reason: string; approvalsReceived: number };
}

interface DecisionData {
  agentId: string;
  status: ActionStatus;
  decidedBy: DecisionSource;
  reason: string | null;
  policyVersion?: number | null;
  matchedRules?: string[];
  errors?: RuleError[];
  /** For reviewer decisions: the request revision decided (see approve with changes). */
  revision?: number;
}

/**
 * An event about to be appended, as a discriminated union on `type`. `redacted` holds the values
 * a policy's `redact` paths took out of `data` (which holds their markers): they are kept beside
 * the event, outside the hash chain, for ADMIN.
 */
export type NewAuditEvent = {
  [T in AuditEventType]: {
    type: T;
    actorId: string | null;
    requestId?: string | null;
    data: AuditEventData[T];
    redacted?: RedactedValue[];
  };
}[AuditEventType];

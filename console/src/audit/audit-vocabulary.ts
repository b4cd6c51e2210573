import type { ActionStatus, AuditBreak, AuditEventType } from '../generated/graphql.js';

/**
 * Every audit event type, by the part of Greenlight it concerns: a Record, so that a type added to
 * the schema fails the console's type check until it is placed here (and offered as a filter).
 */
const TYPE_GROUPS: Record<AuditEventType, string> = {
  ACTION_REQUESTED: 'Requests',
  ACTION_APPROVED: 'Requests',
  ACTION_BLOCKED: 'Requests',
  ACTION_ESCALATED: 'Requests',
  ACTION_EXTENDED: 'Requests',
  ACTION_EXPIRING: 'Requests',
  ACTION_REJECTED: 'Requests',
  ACTION_EXPIRED: 'Requests',
  ACTION_CANCELLED: 'Requests',
  OUTCOME_REPORTED: 'Requests',
  RECEIPT_REDEEMED: 'Requests',
  REVIEW_SUBMITTED: 'Reviews',
  REVIEW_REFUSED: 'Reviews',
  DECISION_OVERRIDDEN: 'Reviews',
  STANDING_APPROVAL_GRANTED: 'Reviews',
  STANDING_APPROVAL_USED: 'Reviews',
  STANDING_APPROVAL_REVOKED: 'Reviews',
  PRINCIPAL_CREATED: 'Principals and tokens',
  PRINCIPAL_UPDATED: 'Principals and tokens',
  PRINCIPAL_DISABLED: 'Principals and tokens',
  PRINCIPAL_ENABLED: 'Principals and tokens',
  TOKEN_ISSUED: 'Principals and tokens',
  TOKEN_REVOKED: 'Principals and tokens',
  TOKEN_ROTATED: 'Principals and tokens',
  DELEGATION_GRANTED: 'Delegations',
  DELEGATION_REVOKED: 'Delegations',
  DELEGATION_REFUSED: 'Delegations',
  POLICY_PUBLISHED: 'Policies',
  POLICY_ACTIVATED: 'Policies',
  WEBHOOK_CREATED: 'Webhooks',
  WEBHOOK_UPDATED: 'Webhooks',
  WEBHOOK_DELETED: 'Webhooks',
  WEBHOOK_SECRET_ROTATED: 'Webhooks',
  WEBHOOK_REDELIVERED: 'Webhooks',
  AUDIT_VERIFICATION_FAILED: 'Audit log',
};

/** The types grouped for the filter, in the order above. */
export const TYPE_GROUPS_SHOWN: { group: string; types: AuditEventType[] }[] = Object.entries(TYPE_GROUPS).reduce<
  { group: string; types: AuditEventType[] }[]
>((groups, [type, group]) => {
  const found = groups.find((entry) => entry.group === group);
  if (found) found.types.push(type as AuditEventType);
  else groups.push({ group, types: [type as AuditEventType] });
  return groups;
}, []);

/** The outcomes a decision event may record (`AuditEventFilter.decisions`): every status but PENDING. */
export const DECISIONS: ActionStatus[] = ['APPROVED', 'REJECTED', 'BLOCKED', 'EXPIRED', 'CANCELLED'];

/** How the chain was found broken, in words (the schema's `AuditBreak`). */
export const BREAK_WORDS: Record<AuditBreak, string> = {
  BAD_SIGNATURE: 'the checkpoint here is not signed by a trusted audit key',
  DELETED: 'the event here is gone',
  INSERTED: 'the event here was never sealed into the chain (inserted)',
  MODIFIED: 'the event no longer matches its hash, or the chain after it was rewritten',
  REORDERED: 'the event is intact but chained to another predecessor (moved)',
};

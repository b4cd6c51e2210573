import { sql } from 'drizzle-orm';
import { DEFAULT_REMIND_AT, DEFAULT_VALID_FOR_SECONDS, type Evaluation, type ReviewRequirement } from '../policy/index.js';
import type { RequestEvent } from './request-statement.js';
import { initialRequirements, nextStepAfter, requiredApprovals, reviewerGroups, summarize } from './requirements.js';

// What a policy's decision writes when an agent asks: the request's decision columns and the
// decision's audit event.

/** The end of an approval's window, in database time. */
export function approvalWindowEnd(evaluation: Pick<Evaluation, 'validForSeconds'>) {
  return sql`now() + make_interval(secs => ${evaluation.validForSeconds ?? DEFAULT_VALID_FOR_SECONDS})`;
}

/** What the policy's decision writes into the request: plain values, deadlines as seconds from now. */
export function decisionFields(evaluation: Evaluation) {
  const none = {
    decidedBy: null,
    decisionReason: null,
    validForSeconds: null,
    reviewRequirements: [],
    requiredGroups: [],
    requiredApprovals: 0,
    expiresInSeconds: null,
    nextEscalationInSeconds: null,
    remindInSeconds: null,
  };
  switch (evaluation.effect) {
    case 'ALLOW':
      return {
        ...none,
        status: 'APPROVED' as const,
        decidedBy: 'POLICY' as const,
        decisionReason: evaluation.reason,
        validForSeconds: evaluation.validForSeconds ?? DEFAULT_VALID_FOR_SECONDS,
      };
    case 'BLOCK':
      return {
        ...none,
        status: 'BLOCKED' as const,
        decidedBy: 'POLICY' as const,
        decisionReason: evaluation.reason ?? evaluation.explanation,
      };
    case 'ESCALATE': {
      const requirements = initialRequirements(evaluation.requirements);
      return {
        ...none,
        status: 'PENDING' as const,
        reviewRequirements: requirements,
        requiredGroups: reviewerGroups(requirements),
        requiredApprovals: requiredApprovals(requirements),
        expiresInSeconds: evaluation.review!.timeoutSeconds,
        nextEscalationInSeconds: nextStepAfter(requirements),
        remindInSeconds: remindAfterSeconds(evaluation.review!),
      };
    }
  }
}

export type DecisionFields = ReturnType<typeof decisionFields>;

/** Seconds from now as a deadline in database time, like every deadline: instances' clocks may disagree, the database's is one. */
const fromNow = (seconds: number | null) => (seconds === null ? null : sql`now() + make_interval(secs => ${seconds})`);

/** The decision's columns for drizzle's insert (the transaction path). */
export function decisionColumns(fields: DecisionFields) {
  return {
    status: fields.status,
    decidedAt: fields.status === 'PENDING' ? null : sql`now()`,
    decidedBy: fields.decidedBy,
    decisionReason: fields.decisionReason,
    validUntil: fromNow(fields.validForSeconds),
    reviewRequirements: fields.reviewRequirements,
    requiredGroups: fields.requiredGroups,
    requiredApprovals: fields.requiredApprovals,
    expiresAt: fromNow(fields.expiresInSeconds),
    nextEscalationAt: fromNow(fields.nextEscalationInSeconds),
    remindAt: fromNow(fields.remindInSeconds),
  };
}

/** Seconds from the request to its reminder: the policy's share of its timeout. */
const remindAfterSeconds = (review: ReviewRequirement): number => review.timeoutSeconds * (review.remindAt ?? DEFAULT_REMIND_AT);

/**
 * The policy's decision as an audit event. An escalation's data carries its deadline: `expiresAt`
 * when it is known, else the one-statement write fills it in (`withExpiry`).
 */
export function decisionEvent(agentId: string, fields: DecisionFields, evaluation: Evaluation, expiresAt: Date | null): RequestEvent {
  if (fields.status === 'PENDING') {
    return {
      actorId: null,
      type: 'ACTION_ESCALATED',
      withExpiry: expiresAt === null,
      data: {
        agentId,
        policyVersion: evaluation.policyVersion,
        matchedRules: evaluation.matchedRules,
        errors: evaluation.errors,
        requiredGroups: fields.requiredGroups,
        requiredApprovals: fields.requiredApprovals,
        requirements: summarize(fields.reviewRequirements),
        expiresAt: expiresAt?.toISOString() ?? '',
      },
    };
  }
  return {
    actorId: null,
    type: fields.status === 'APPROVED' ? 'ACTION_APPROVED' : 'ACTION_BLOCKED',
    data: {
      agentId,
      status: fields.status,
      decidedBy: 'POLICY',
      reason: fields.decisionReason,
      policyVersion: evaluation.policyVersion,
      matchedRules: evaluation.matchedRules,
      errors: evaluation.errors,
    },
  };
}

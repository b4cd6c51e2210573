import {
  ActionOutcome,
  ActionStatus,
  DecisionSource,
  PolicyEffect,
  PrincipalKind,
  ReceiptProblem,
  RequestParty,
  Role,
  Verdict,
} from '../../vocabulary.js';
import { builder } from '../builder.js';

// Every GraphQL enum mirrors a vocabulary in src/vocabulary.ts; the descriptions are the
// client-facing documentation of each value.

export const PrincipalKindEnum = builder.enumType('PrincipalKind', {
  description: 'Whether a principal is software or a person.',
  values: {
    [PrincipalKind.AGENT]: { description: 'Software that requests actions: an AI agent, a deploy bot, a configuration agent.' },
    [PrincipalKind.HUMAN]: { description: 'A person: reviewers, auditors and administrators are humans.' },
  } as const,
});

export const RoleEnum = builder.enumType('Role', {
  description: 'What a principal may do. A principal can hold several roles.',
  values: {
    [Role.AGENT]: { description: 'May request actions and follow its own requests.' },
    [Role.REVIEWER]: { description: 'May decide escalated requests that need one of its groups.' },
    [Role.AUDITOR]: { description: 'May read every request and the audit log.' },
    [Role.ADMIN]: { description: 'May create principals and publish policies, and read everything.' },
  } as const,
});

export const PolicyEffectEnum = builder.enumType('PolicyEffect', {
  description: 'What a policy decides for a request. Precedence: BLOCK beats ESCALATE beats ALLOW.',
  values: {
    [PolicyEffect.ALLOW]: { description: 'Approve at once, without a human.' },
    [PolicyEffect.ESCALATE]: { description: 'Hold the request PENDING until reviewers decide.' },
    [PolicyEffect.BLOCK]: { description: 'Refuse at once; the agent must not perform the action.' },
  } as const,
});

export const ActionStatusEnum = builder.enumType('ActionStatus', {
  description: 'Where an action request is in its lifecycle. Only PENDING ever changes.',
  values: {
    [ActionStatus.PENDING]: { description: 'Waiting for reviewers until `expiresAt`.' },
    [ActionStatus.APPROVED]: { description: 'The agent may perform the action (allowed by policy or approved by reviewers).' },
    [ActionStatus.REJECTED]: { description: 'A reviewer said no.' },
    [ActionStatus.BLOCKED]: { description: 'The policy refused it; see `decisionReason`.' },
    [ActionStatus.EXPIRED]: { description: 'Nobody decided before the deadline.' },
    [ActionStatus.CANCELLED]: { description: 'The agent withdrew the request.' },
  } as const,
});

export const DecisionSourceEnum = builder.enumType('DecisionSource', {
  description: 'Who or what moved a request out of PENDING, so an agent can tell a policy block from a human no from a timeout.',
  values: {
    [DecisionSource.POLICY]: { description: 'The policy decided at request time (ALLOW or BLOCK).' },
    [DecisionSource.REVIEWER]: { description: 'A human reviewer decided.' },
    [DecisionSource.TIMEOUT]: { description: 'The review deadline passed.' },
    [DecisionSource.REQUESTER]: { description: 'The requesting agent cancelled.' },
    [DecisionSource.ADMIN]: { description: 'An administrator decided outside the review rules (`overrideDecision`, break-glass).' },
  } as const,
});

export const VerdictEnum = builder.enumType('Verdict', {
  description: "A reviewer's answer.",
  values: {
    [Verdict.APPROVE]: { description: 'Let the agent perform the action (counts towards the required approvals).' },
    [Verdict.REJECT]: { description: 'Refuse; one rejection rejects the request.' },
  } as const,
});

export const ActionOutcomeEnum = builder.enumType('ActionOutcome', {
  description: 'What happened when the agent performed an approved action.',
  values: {
    [ActionOutcome.SUCCEEDED]: { description: 'The action was performed and worked.' },
    [ActionOutcome.FAILED]: { description: 'The action was attempted and failed (say why in `detail`).' },
  } as const,
});

export const RequestPartyEnum = builder.enumType('RequestParty', {
  description: 'A party to a request, who may never review it (separation of duties).',
  values: {
    [RequestParty.REQUESTING_AGENT]: { description: 'The agent that made the request.' },
    [RequestParty.AGENT]: { description: 'Any other agent: only humans review.' },
    [RequestParty.OWNER]: { description: 'The human who owns the requesting agent.' },
    [RequestParty.ON_BEHALF_OF]: { description: 'The human the agent acts for (`onBehalfOf`).' },
  } as const,
});

export const ReceiptProblemEnum = builder.enumType('ReceiptProblem', {
  description: 'Why a signed approval receipt was refused.',
  values: {
    [ReceiptProblem.MALFORMED]: { description: 'Not a compact JWS of a Greenlight receipt, or it names no request here.' },
    [ReceiptProblem.UNKNOWN_KEY]: { description: 'Signed with a key this deployment does not publish at /.well-known/jwks.json.' },
    [ReceiptProblem.BAD_SIGNATURE]: { description: 'The signature does not verify: the receipt was altered or signed by someone else.' },
    [ReceiptProblem.EXPIRED]: { description: "Past `exp`, the request's `validUntil`: ask for approval again." },
    [ReceiptProblem.NOT_YET_VALID]: { description: 'Before `nbf`.' },
    [ReceiptProblem.WRONG_ISSUER]: { description: 'Issued by another deployment (`iss`).' },
    [ReceiptProblem.ACTION_MISMATCH]: { description: 'The receipt names another action.' },
    [ReceiptProblem.RESOURCE_MISMATCH]: { description: 'The receipt names another resource.' },
    [ReceiptProblem.PARAMS_MISMATCH]: { description: '`params_sha256` is not the hash of these params.' },
  } as const,
});

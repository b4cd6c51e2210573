import type { ZodError } from 'zod';
import type { ReceiptProblem, RequestParty } from './vocabulary.js';

/**
 * Expected failures of the domain. Services throw these; the GraphQL layer turns each into a
 * typed error object in the mutation payload, so clients can switch on `__typename`. Anything
 * else that escapes a service is unexpected: it is logged and masked.
 */
export abstract class DomainError extends Error {
  /** Stable machine-readable code, used as `extensions.code` when the error surfaces as a GraphQL error. */
  abstract readonly code: string;

  /** graphql-js copies an original error's `extensions` onto the GraphQL error it wraps it in. */
  get extensions(): { code: string } & Record<string, unknown> {
    return { code: this.code };
  }
}

/** The thing does not exist, or the caller may not know that it exists. */
export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
  readonly code = 'NOT_FOUND';
  constructor(
    readonly resourceType: string,
    readonly resourceId: string,
  ) {
    super(`${resourceType} ${resourceId} was not found.`);
  }
}

/** The caller is authenticated but this particular operation is not theirs to perform. */
export class NotAllowedError extends DomainError {
  override name = 'NotAllowedError';
  readonly code = 'FORBIDDEN';
}

/**
 * A party to a request tried to review it: the agent itself, another agent, the agent's owner or
 * the human it acts for. The attempt is recorded in the audit log.
 */
export class SeparationOfDutiesError extends DomainError {
  override name = 'SeparationOfDutiesError';
  readonly code = 'SEPARATION_OF_DUTIES';
  constructor(readonly party: RequestParty) {
    super(SEPARATION_MESSAGES[party]);
  }
}

const SEPARATION_MESSAGES: Record<RequestParty, string> = {
  REQUESTING_AGENT: 'An agent can never review its own request.',
  AGENT: 'Agents can never review action requests; only humans can.',
  OWNER: 'You own the agent that asked: its requests must be reviewed by someone else.',
  ON_BEHALF_OF: 'The agent acts on your behalf: the request must be reviewed by someone else.',
};

/** The operation lost a race or the target is no longer in a state that permits it. */
export class ConflictError extends DomainError {
  override name = 'ConflictError';
  readonly code = 'CONFLICT';
  constructor(
    message: string,
    readonly currentStatus: string | null = null,
  ) {
    super(message);
  }
}

/** One bad field of the input; `field` is its dotted path inside the input object. */
export interface FieldProblem {
  field: string;
  message: string;
}

export class InvalidInputError extends DomainError {
  override name = 'InvalidInputError';
  readonly code = 'BAD_USER_INPUT';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }

  override get extensions() {
    return { code: this.code, problems: this.problems };
  }

  static of(field: string, message: string): InvalidInputError {
    return new InvalidInputError([{ field, message }]);
  }

  /** One problem per zod issue, each naming the field's path inside the input. */
  static fromZod(error: ZodError): InvalidInputError {
    return new InvalidInputError(error.issues.map((issue) => ({ field: issue.path.join('.') || 'input', message: issue.message })));
  }
}

/** A signed approval receipt was refused: `problem` names what does not hold. Nothing was written. */
export class InvalidReceiptError extends DomainError {
  override name = 'InvalidReceiptError';
  readonly code = 'INVALID_RECEIPT';
  constructor(
    readonly problem: ReceiptProblem,
    message: string,
  ) {
    super(message);
  }

  override get extensions() {
    return { code: this.code, problem: this.problem };
  }
}

/**
 * The database could not be reached in time: every connection was busy past the pool's timeout,
 * or the server is down or restarting. Nothing about the input was wrong; retry later. A write
 * that failed this way may or may not have committed, so retry it with the same idempotency key.
 */
export class UnavailableError extends DomainError {
  override name = 'UnavailableError';
  readonly code = 'UNAVAILABLE';
  constructor() {
    super('The service cannot reach its database right now; retry shortly (retry a write with the same idempotencyKey).');
  }
}

/** The same idempotency key was used before with a different request. */
export class IdempotencyConflictError extends DomainError {
  override name = 'IdempotencyConflictError';
  readonly code = 'IDEMPOTENCY_CONFLICT';
  constructor(readonly existingRequestId: string) {
    super('This idempotency key was already used for a different request; use a new key for a new request.');
  }
}

/** The policy failed validation; every problem names the rule and the field. */
export class InvalidPolicyInputError extends DomainError {
  override name = 'InvalidPolicyInputError';
  readonly code = 'BAD_USER_INPUT';
  override get extensions() {
    return { code: this.code, issues: this.issues };
  }

  constructor(readonly issues: { ruleId: string | null; field: string; message: string }[]) {
    super(`The policy is invalid: ${issues.map((i) => `${i.ruleId ? `rule ${i.ruleId} ` : ''}${i.field} ${i.message}`).join('; ')}`);
  }
}

/** A subscriber fell too far behind its stream; it may resubscribe from the cursor of the last event it received. */
export class SlowConsumerError extends DomainError {
  override name = 'SlowConsumerError';
  readonly code = 'SLOW_CONSUMER';
  /** `behind`: how far, e.g. "1000 events" or "1 MiB of messages". */
  constructor(readonly behind: string) {
    super(`The subscriber fell more than ${behind} behind; resubscribe with the cursor of the last event received.`);
  }
}

/** Over a quota: retry after `retryAfter` seconds. */
export class RateLimitedError extends DomainError {
  override name = 'RateLimitedError';
  readonly code = 'RATE_LIMITED';
  constructor(
    message: string,
    /** Seconds to wait before trying again. */
    readonly retryAfter: number,
  ) {
    super(message);
  }

  override get extensions() {
    return { code: this.code, retryAfter: this.retryAfter };
  }
}

/** Why a bearer token did not authenticate. The messages never repeat the token. */
export const AuthFailure = {
  MISSING: 'Not authenticated: send "Authorization: Bearer <token>".',
  UNKNOWN: 'Not authenticated: the bearer token is unknown or revoked.',
  EXPIRED: 'Not authenticated: the bearer token has expired; issue a new one.',
  DISABLED: 'Not authenticated: this principal is disabled.',
} as const;
export type AuthFailure = keyof typeof AuthFailure;

/** No valid credentials: missing, unknown, revoked or expired token, or a disabled principal. */
export class UnauthenticatedError extends DomainError {
  override name = 'UnauthenticatedError';
  readonly code = 'UNAUTHENTICATED';
  constructor(readonly reason: AuthFailure) {
    super(AuthFailure[reason]);
  }
}

/** An agent named a human (`onBehalfOf`) it may not act for: it is neither their agent nor holds a delegation for the action. */
export class DelegationRequiredError extends DomainError {
  override name = 'DelegationRequiredError';
  readonly code = 'DELEGATION_REQUIRED';
  constructor(readonly onBehalfOf: string) {
    super(
      'This agent may not act on behalf of that human: only their own agents (owner) and agents they granted a delegation covering this action (grantDelegation) may. The attempt was recorded.',
    );
  }
}

import type { Decision } from './decision.js';
import type { ReceiptProblem } from './generated/graphql.js';

/** A call to Greenlight failed: `code` is the GraphQL error code (`UNAUTHENTICATED`, `FORBIDDEN`…) or the payload error's type (`InvalidInputError`…). */
export class GreenlightError extends Error {
  override name = 'GreenlightError';
  constructor(
    message: string,
    readonly code: string,
    /** The error's other fields: `problems`, `retryAfter`, `existingRequestId`, `currentStatus`… */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The action may not be performed (or not yet): what happened, the request, and the line to give a model. */
export abstract class ActionNotApprovedError extends Error {
  /** Why, in the decider's words (the blocking rule's reason, the reviewer's comment), when given. */
  readonly reason: string | null;
  /** The request as Greenlight last reported it. */
  readonly request: Decision['request'];
  /** One line for an LLM: what happened, who decided, and whether asking again makes sense. */
  readonly modelMessage: string;

  constructor(readonly decision: Decision) {
    super(decision.modelMessage);
    this.reason = decision.reason;
    this.request = decision.request;
    this.modelMessage = decision.modelMessage;
  }

  get requestId(): string {
    return this.decision.requestId;
  }
}

/** The policy blocked the action: asking again the same way is blocked again. */
export class ActionBlockedError extends ActionNotApprovedError {
  override name = 'ActionBlockedError';
}

/** A reviewer (or an administrator, or the deadline where the policy says so) rejected the action. */
export class ActionRejectedError extends ActionNotApprovedError {
  override name = 'ActionRejectedError';
}

/** Nobody decided before the deadline, or an approval's window closed before it was used. Not a denial: asking again may be approved. */
export class ActionExpiredError extends ActionNotApprovedError {
  override name = 'ActionExpiredError';
}

/** The approval was already used: its outcome was reported. Asking again is needed to act again. */
export class ActionAlreadyPerformedError extends ActionNotApprovedError {
  override name = 'ActionAlreadyPerformedError';
}

/** The request was withdrawn before a decision. */
export class ActionCancelledError extends ActionNotApprovedError {
  override name = 'ActionCancelledError';
}

/** Still waiting for reviewers (interrupt mode, or a wait that timed out): resume later from `requestId`. */
export class ActionPendingError extends ActionNotApprovedError {
  override name = 'ActionPendingError';
}

/** `verifyReceipt` refused a receipt: `problem` names what does not hold. */
export class ReceiptVerificationError extends Error {
  override name = 'ReceiptVerificationError';
  constructor(
    readonly problem: ReceiptProblem,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The Greenlight SDK for agents (`greenlight/client`): ask before acting, wait for reviewers,
 * act only on approval, and verify approval receipts offline. Runs in Node and in browsers.
 */
export { createGreenlightClient } from './client.js';
export type { GreenlightClient, GreenlightClientOptions, GuardedAction } from './client.js';
export { approvalSpent, modelMessageFor, type Decision } from './decision.js';
export {
  ActionAlreadyPerformedError,
  ActionBlockedError,
  ActionCancelledError,
  ActionExpiredError,
  ActionNotApprovedError,
  ActionPendingError,
  ActionRejectedError,
  GreenlightError,
  ReceiptVerificationError,
} from './errors.js';
export { paramsSha256, verifyReceipt, type ReceiptClaims, type VerifyReceiptOptions } from './receipts.js';
export type { WaitOptions } from './wait.js';
export type { ActionOutcome, ActionStatus, DecisionFragment, ReceiptProblem, RequestActionInput } from './generated/graphql.js';

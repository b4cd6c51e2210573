import { approvalSpent, toDecision, type Decision } from './decision.js';
import {
  ActionAlreadyPerformedError,
  ActionBlockedError,
  ActionCancelledError,
  ActionExpiredError,
  ActionPendingError,
  ActionRejectedError,
  GreenlightError,
  type ActionNotApprovedError,
} from './errors.js';
import {
  CancelActionRequestDocument,
  RedeemReceiptDocument,
  ReportActionOutcomeDocument,
  RequestActionDocument,
  ViewerDocument,
  type ActionOutcome,
  type ViewerQuery,
  type RequestActionInput,
} from './generated/graphql.js';
import { holdsMarkers, withOwnValues } from './params.js';
import { verifyReceipt, type ReceiptClaims, type VerifyReceiptOptions } from './receipts.js';
import { createTransport, type TransportOptions } from './transport.js';
import { getDecision, waitForDecision, type WaitOptions } from './wait.js';

export interface GreenlightClientOptions extends TransportOptions {
  /**
   * `block` (default): `requestAction`, `guard` and `resume` wait for the reviewers' decision.
   * `interrupt`: they answer at once; a PENDING request is resumed later, from its id alone.
   */
  mode?: 'block' | 'interrupt';
  /** In `block` mode, how long to wait for reviewers before giving up (as PENDING); default: until decided. */
  waitTimeoutMs?: number;
  /** How often a wait polls when WebSockets are off or failing (default 1000 ms). */
  pollIntervalMs?: number;
  /** Told when `guard` could not report an outcome (the action itself already ran); default: console.warn. */
  onOutcomeReportError?: (error: unknown, requestId: string) => void;
}

/** What `guard` hands the guarded function: the params to act with, and the decision with its receipt. */
export type GuardedAction<T> = (approvedParams: Record<string, unknown>, decision: Decision) => Promise<T> | T;

export interface GreenlightClient {
  /** Asks permission. In `block` mode, waits for reviewers when the policy escalates (not with `timeoutMs: 0`). */
  requestAction(input: RequestActionInput, options?: WaitOptions): Promise<Decision>;
  /** The request as it stands, without waiting. */
  getDecision(requestId: string): Promise<Decision>;
  /** Waits for a request's decision (at once when decided; see `WaitOptions`). */
  waitForDecision(requestId: string, options?: WaitOptions): Promise<Decision>;
  /**
   * Runs `fn(approvedParams)` only when approved (and the approval not yet used, its window open),
   * reports SUCCEEDED or FAILED on its own, and returns what `fn` returned. Otherwise throws
   * `ActionBlockedError`, `ActionRejectedError`, `ActionExpiredError` (also for a closed approval
   * window), `ActionCancelledError`, `ActionAlreadyPerformedError`, or (interrupt mode, or a wait
   * that timed out) `ActionPendingError`, each with `reason`, `request` and `modelMessage`.
   */
  guard<T>(input: RequestActionInput, fn: GuardedAction<T>, options?: WaitOptions): Promise<T>;
  /**
   * `guard` for a request made earlier (interrupt mode), from its id alone, e.g. in another process.
   * Pass `params` (those the request was made with) when the policy redacts some of them: the
   * agent is shown markers, and the action needs the values.
   */
  resume<T>(requestId: string, fn: GuardedAction<T>, options?: WaitOptions & { params?: Record<string, unknown> }): Promise<T>;
  /** Withdraws one of your PENDING requests. */
  cancel(requestId: string, reason?: string): Promise<Decision>;
  /** Records what happened when you performed an approved action (once, within `validUntil`). */
  reportOutcome(input: { requestId: string; outcome: ActionOutcome; detail?: string }): Promise<void>;
  /** Spends a receipt once (for executing systems), checking it approves `expected` when given; returns its verified claims. */
  redeemReceipt(
    receipt: string,
    expected?: { action: string; resource: string; params: Record<string, unknown> | null },
  ): Promise<ReceiptClaims>;
  /** `verifyReceipt`, with this server's JWK Set unless `jwks` or `jwksUrl` is given. */
  verifyReceipt(
    receipt: string,
    options: Omit<VerifyReceiptOptions, 'jwks' | 'jwksUrl'> & Partial<VerifyReceiptOptions>,
  ): Promise<ReceiptClaims>;
  /** Who the token belongs to (a cheap way to check a token). */
  viewer(): Promise<NonNullable<ViewerQuery['viewer']>>;
  /** Closes the WebSocket, if one is open. */
  close(): Promise<void>;
}

const MAX_DETAIL = 4_000;

/** A payload's expected errors as one `GreenlightError` (code: the error's type). */
function payloadError(errors: readonly ({ __typename: string; message: string } & Record<string, unknown>)[]): GreenlightError {
  const { __typename, message, ...details } = errors[0]!;
  return new GreenlightError(message, __typename, details);
}

function notApproved(decision: Decision): ActionNotApprovedError {
  switch (decision.status) {
    case 'BLOCKED':
      return new ActionBlockedError(decision);
    case 'REJECTED':
      return new ActionRejectedError(decision);
    case 'EXPIRED':
      return new ActionExpiredError(decision);
    case 'CANCELLED':
      return new ActionCancelledError(decision);
    default:
      return new ActionPendingError(decision);
  }
}

/** An agent's client of one Greenlight server, authenticated with its bearer token. */
export function createGreenlightClient(options: GreenlightClientOptions): GreenlightClient {
  const transport = createTransport(options);
  const mode = options.mode ?? 'block';
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const reportFailed =
    options.onOutcomeReportError ?? ((error, requestId) => console.warn(`[greenlight] outcome of ${requestId} not reported:`, error));

  const wait = (requestId: string, waitOptions: WaitOptions = {}) =>
    waitForDecision(transport, requestId, { timeoutMs: options.waitTimeoutMs, ...waitOptions, pollIntervalMs });

  const reportOutcome: GreenlightClient['reportOutcome'] = async ({ requestId, outcome, detail }) => {
    const input = { requestId, outcome, ...(detail ? { detail: detail.slice(0, MAX_DETAIL) } : {}) };
    const data = await transport.execute(ReportActionOutcomeDocument, { input });
    if (data.reportActionOutcome.errors.length) throw payloadError(data.reportActionOutcome.errors);
  };

  /**
   * Runs `fn` on an approved decision that is still usable (no outcome reported, window open), with
   * the approved params (redaction markers filled back from `ownParams`), and reports how it went.
   * Anything else throws.
   */
  async function run<T>(decision: Decision, fn: GuardedAction<T>, ownParams: unknown): Promise<T> {
    if (decision.status !== 'APPROVED') throw notApproved(decision);
    const spent = approvalSpent(decision.request);
    if (spent === 'PERFORMED') throw new ActionAlreadyPerformedError(decision);
    if (spent === 'WINDOW_CLOSED') throw new ActionExpiredError(decision);
    let params: Record<string, unknown> = decision.approvedParams ?? {};
    if (holdsMarkers(params)) {
      const filled = withOwnValues(params, ownParams ?? {});
      if (filled === null) {
        throw new GreenlightError(
          'The approved params hold redacted values this client does not have: pass the params the request was made with, e.g. resume(requestId, fn, { params }).',
          'REDACTED_PARAMS',
          { requestId: decision.requestId },
        );
      }
      params = filled as Record<string, unknown>;
    }
    let result: T;
    try {
      result = await fn(params, decision);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      await reportOutcome({ requestId: decision.requestId, outcome: 'FAILED', detail }).catch((reportError) =>
        reportFailed(reportError, decision.requestId),
      );
      throw error;
    }
    await reportOutcome({ requestId: decision.requestId, outcome: 'SUCCEEDED' }).catch((reportError) =>
      reportFailed(reportError, decision.requestId),
    );
    return result;
  }

  /** Waits, naming the request in any failure: it exists, and can be resumed from its id. */
  const waitNaming = (requestId: string, waitOptions?: WaitOptions) =>
    wait(requestId, waitOptions).catch((error: unknown) => {
      if (error instanceof GreenlightError && error.details['requestId']) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new GreenlightError(
        `Waiting for request ${requestId} failed (${message}); resume it from its id.`,
        error instanceof GreenlightError ? error.code : 'WAIT_FAILED',
        {
          ...(error instanceof GreenlightError ? error.details : {}),
          requestId,
          cause: error,
        },
      );
    });

  const client: GreenlightClient = {
    async requestAction(input, waitOptions) {
      const data = await transport.execute(RequestActionDocument, { input }, waitOptions?.signal);
      const { request, errors } = data.requestAction;
      if (!request) throw payloadError(errors);
      const decision = toDecision(request);
      // `timeoutMs: 0` asks without waiting, whatever the mode.
      const waits = decision.status === 'PENDING' && mode === 'block' && waitOptions?.timeoutMs !== 0;
      return waits ? waitNaming(decision.requestId, waitOptions) : decision;
    },
    getDecision: (requestId) => getDecision(transport, requestId),
    waitForDecision: wait,
    async guard(input, fn, waitOptions) {
      return run(await client.requestAction(input, waitOptions), fn, input.params);
    },
    async resume(requestId, fn, resumeOptions = {}) {
      const { params, ...waitOptions } = resumeOptions;
      return run(mode === 'block' ? await waitNaming(requestId, waitOptions) : await getDecision(transport, requestId), fn, params);
    },
    async cancel(requestId, reason) {
      const data = await transport.execute(CancelActionRequestDocument, { input: { requestId, ...(reason ? { reason } : {}) } });
      const { request, errors } = data.cancelActionRequest;
      if (!request) throw payloadError(errors);
      return toDecision(request);
    },
    reportOutcome,
    async redeemReceipt(receipt, expected) {
      const data = await transport.execute(RedeemReceiptDocument, {
        input: { receipt, ...(expected ? { ...expected, params: expected.params ?? {} } : {}) },
      });
      const { redemption, errors } = data.redeemReceipt;
      if (!redemption) throw payloadError(errors);
      return redemption.claims as ReceiptClaims;
    },
    verifyReceipt: (receipt, verifyOptions) =>
      verifyReceipt(receipt, {
        ...verifyOptions,
        ...(verifyOptions.jwks || verifyOptions.jwksUrl ? {} : { jwksUrl: `${transport.baseUrl}/.well-known/jwks.json` }),
      }),
    async viewer() {
      const data = await transport.execute(ViewerDocument, {});
      if (!data.viewer) throw new GreenlightError('The token authenticates no one.', 'UNAUTHENTICATED');
      return data.viewer;
    },
    close: () => transport.close(),
  };
  return client;
}

import type { ActionStatus, DecisionFragment } from './generated/graphql.js';

/** Where a request stands, as an agent needs it: act (APPROVED), wait (PENDING), or explain why not. */
export interface Decision {
  status: ActionStatus;
  requestId: string;
  /** The request's decision fields, typed from schema/operations (the `Decision` fragment). */
  request: DecisionFragment;
  /** Why, in the decider's words: the blocking rule's reason, the reviewer's comment, the override reason. */
  reason: string | null;
  /** Once APPROVED: the signed receipt for the executing system (see `verifyReceipt`). */
  receipt: string | null;
  /** Once APPROVED: the params to act with (a reviewer may have changed them). */
  approvedParams: Record<string, unknown> | null;
  /** One line for an LLM: what happened, who decided, and whether asking again makes sense. */
  modelMessage: string;
}

const MAX_QUOTED = 300;

/** A decider's words on one line, bounded, quoted: they are data for the model, not instructions. */
function quoted(text: string | null): string {
  if (!text?.trim()) return '';
  // Control and format characters (newlines, bidi controls) would break the one line or hide text.
  const line = text.replace(/[\p{Cc}\p{Cf}\s]+/gu, ' ').trim();
  const cut = line.length > MAX_QUOTED ? `${line.slice(0, MAX_QUOTED)}…` : line;
  return ` Reason given: "${cut.replace(/"/g, "'")}".`;
}

function decider(request: DecisionFragment): string {
  const name = request.decider?.name;
  switch (request.decidedBy) {
    case 'POLICY':
      return 'the policy';
    case 'REVIEWER':
      return name ? `reviewer ${name}` : 'a reviewer';
    case 'ADMIN':
      return name ? `administrator ${name} (override)` : 'an administrator (override)';
    case 'TIMEOUT':
      return 'the review deadline';
    case 'REQUESTER':
      return 'the requesting agent';
    default:
      return 'Greenlight';
  }
}

/**
 * Why an APPROVED request may no longer be acted on: its outcome was reported (the approval was
 * used), or its approval window closed (by this machine's clock). Null while it may be.
 */
export function approvalSpent(request: DecisionFragment, now: number = Date.now()): 'PERFORMED' | 'WINDOW_CLOSED' | null {
  if (request.status !== 'APPROVED') return null;
  if (request.outcome) return 'PERFORMED';
  if (request.validUntil && Date.parse(request.validUntil) <= now) return 'WINDOW_CLOSED';
  return null;
}

/** The line an LLM should be given about a request's state. */
export function modelMessageFor(request: DecisionFragment, now: number = Date.now()): string {
  const subject = `${request.action} on ${request.resource} (request ${request.id})`;
  const why = quoted(request.decisionReason);
  switch (request.status) {
    case 'APPROVED': {
      const spent = approvalSpent(request, now);
      if (spent === 'PERFORMED') {
        return `Already performed: ${subject} was approved and its outcome (${request.outcome}) reported. Do not perform it again; ask again if it must be done once more.`;
      }
      if (spent === 'WINDOW_CLOSED') {
        return `The approval of ${subject} closed at ${request.validUntil}: do not act on it. This is not a denial; ask again if it is still needed.`;
      }
      return `Approved by ${decider(request)}: you may perform ${subject} with the approved params${request.validUntil ? ` until ${request.validUntil}` : ''}.${why}`;
    }
    case 'BLOCKED':
      return `Blocked by the policy: ${subject} is not allowed.${why} Do not retry the same request unless something changed (time, plan, or a human's say); choose another approach or ask a human.`;
    case 'REJECTED':
      return request.decidedBy === 'TIMEOUT'
        ? `Rejected: no reviewer approved ${subject} before its deadline, and the policy rejects on timeout.${why} Ask again only if it is still needed and a reviewer can attend to it.`
        : `Rejected by ${decider(request)}: ${subject} must not be performed.${why} Do not ask again unchanged; change the plan or ask the reviewer.`;
    case 'EXPIRED':
      return `Expired: nobody decided on ${subject} before its deadline. This is not a denial; ask again if it is still needed.`;
    case 'CANCELLED':
      return `Cancelled by ${decider(request)}: ${subject} was withdrawn before a decision.${why} Ask again if it is still needed.`;
    case 'PENDING':
      return `Waiting for human review of ${subject}: do not act yet; check again later with request id ${request.id}.`;
  }
}

export function toDecision(request: DecisionFragment): Decision {
  const approved = request.status === 'APPROVED';
  return {
    status: request.status,
    requestId: request.id,
    request,
    reason: request.decisionReason,
    receipt: approved ? request.receipt : null,
    approvedParams: approved ? ((request.approvedParams as Record<string, unknown> | null) ?? null) : null,
    modelMessage: modelMessageFor(request),
  };
}

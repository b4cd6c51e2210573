import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { effectiveParams } from '../approvals/amend.js';
import type { ReceiptClaims } from '../client/receipts.js';
import type { ActionRequestRow, ReviewRow } from '../db/schema.js';

/** What a signed approval receipt asserts: one definition, the SDK's (the contract executing systems verify against). */
export type { ReceiptClaims };

/** base64url SHA-256 of the RFC 8785 canonical form of `params` (`{}` when null). */
export function paramsSha256(params: Record<string, unknown> | null | undefined): string {
  return createHash('sha256')
    .update(canonicalize(params ?? {}) ?? '{}')
    .digest('base64url');
}

/**
 * The people whose approval stands behind an APPROVED request: the approvals of the revision that
 * was approved when reviewers decided, the ADMIN who overrode, none when the policy allowed.
 */
export function approversOf(request: ActionRequestRow, reviews: readonly ReviewRow[]): string[] {
  if (request.decidedBy === 'ADMIN') return request.deciderId ? [request.deciderId] : [];
  if (request.decidedBy !== 'REVIEWER') return [];
  return reviews
    .filter((review) => review.requestId === request.id && review.verdict === 'APPROVE' && review.revision === request.revision)
    .map((review) => review.reviewerId);
}

const seconds = (time: Date) => Math.floor(time.getTime() / 1_000);

/** The claims of an APPROVED request's receipt; a pure function of the request, so every read signs the same claims. */
export function receiptClaims(request: ActionRequestRow, approvers: string[], issuer: string): ReceiptClaims {
  if (request.status !== 'APPROVED' || !request.decidedAt || !request.validUntil) {
    throw new Error(`Request ${request.id} is ${request.status}: only an APPROVED request has a receipt.`);
  }
  return {
    iss: issuer,
    sub: request.agentId,
    ...(request.onBehalfOfId ? { act: { sub: request.onBehalfOfId } } : {}),
    request_id: request.id,
    action: request.action,
    resource: request.resource,
    params_sha256: paramsSha256(effectiveParams(request)),
    approvers,
    policy_version: (request.amendedEvaluation ?? request.evaluation).policyVersion ?? null,
    iat: seconds(request.decidedAt),
    nbf: seconds(request.decidedAt),
    exp: seconds(request.validUntil),
    jti: request.id,
  };
}

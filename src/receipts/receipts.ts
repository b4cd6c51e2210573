import { and, eq } from 'drizzle-orm';
import type { Principal } from '../auth/roles.js';
import type { Executor } from '../db/client.js';
import { receiptRedemptions, reviews, type ActionRequestRow, type ReviewRow } from '../db/schema.js';
import type { ReceiptSigner } from './signer.js';
import { approversOf, receiptClaims } from './claims.js';

/**
 * The signed receipt of an APPROVED request, for its agent only (a receipt is redeemed once, so
 * anyone else holding it could spend it first); null otherwise. Pass the request's reviews when
 * they are at hand (a loader), else they are read.
 */
export async function receiptFor(
  db: Executor,
  signer: ReceiptSigner,
  viewer: Principal,
  request: ActionRequestRow,
  knownReviews?: readonly ReviewRow[],
): Promise<string | null> {
  if (request.status !== 'APPROVED' || request.agentId !== viewer.id) return null;
  const approvals =
    knownReviews ??
    (request.decidedBy === 'REVIEWER'
      ? await db
          .select()
          .from(reviews)
          .where(and(eq(reviews.requestId, request.id), eq(reviews.verdict, 'APPROVE')))
      : []);
  return signer.sign(receiptClaims(request, approversOf(request, approvals), signer.issuer));
}

/** When the request's receipt was redeemed, if it was. */
export async function redeemedAt(db: Executor, requestId: string): Promise<Date | null> {
  const [row] = await db
    .select({ at: receiptRedemptions.redeemedAt })
    .from(receiptRedemptions)
    .where(eq(receiptRedemptions.requestId, requestId));
  return row?.at ?? null;
}

import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { effectiveParams } from '../approvals/amend.js';
import { ActionParams } from '../approvals/request-action.js';
import { appendAuditEvents } from '../audit/append.js';
import type { Principal } from '../auth/roles.js';
import { actionRequests, principals, receiptRedemptions } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError, InvalidReceiptError } from '../errors.js';
import { parseInput } from '../validation.js';
import { paramsSha256, type ReceiptClaims } from './claims.js';

/** A compact JWS of a receipt is about 700 characters; this leaves room and refuses anything absurd. */
const MAX_RECEIPT_LENGTH = 8_192;

export const RedeemReceiptInput = z.object({
  receipt: z.string().min(1).max(MAX_RECEIPT_LENGTH),
  /** What the executing system is about to do: when given, the receipt must approve exactly that. */
  action: z.string().max(200).nullish(),
  resource: z.string().max(1_000).nullish(),
  params: ActionParams.nullish(),
});
export type RedeemReceiptInput = z.input<typeof RedeemReceiptInput>;

export interface ReceiptRedemption {
  requestId: string;
  redeemedAt: Date;
  redeemedById: string;
  claims: ReceiptClaims;
}

/**
 * An executing system spends a receipt before it acts: the signature, issuer and window are
 * checked, the receipt is matched against the request it names (still APPROVED, same action,
 * resource and params), and the redemption is recorded with its audit event in one transaction.
 * A second redemption is a ConflictError naming the first; nothing is written on any refusal.
 */
export async function redeemReceipt(deps: Deps, redeemer: Principal, rawInput: RedeemReceiptInput): Promise<ReceiptRedemption> {
  const input = parseInput(RedeemReceiptInput, rawInput);
  const { claims, keyId } = await deps.receipts.verify(input.receipt.trim());
  if (input.action != null && input.action !== claims.action) {
    throw new InvalidReceiptError('ACTION_MISMATCH', `The receipt approves ${claims.action}, not ${input.action}.`);
  }
  if (input.resource != null && input.resource !== claims.resource) {
    throw new InvalidReceiptError('RESOURCE_MISMATCH', `The receipt approves ${claims.resource}, not ${input.resource}.`);
  }
  if (input.params !== undefined && paramsSha256(input.params) !== claims.params_sha256) {
    throw new InvalidReceiptError('PARAMS_MISMATCH', 'The receipt approves other params than these.');
  }

  const { redemption, events } = await deps.db.transaction(async (tx) => {
    const [locked] = await tx
      .select({
        request: actionRequests,
        closed: sql<boolean>`coalesce(${actionRequests.validUntil} < now(), true)`,
        agentDisabled: sql<boolean>`${principals.disabledAt} IS NOT NULL`,
      })
      .from(actionRequests)
      .innerJoin(principals, eq(principals.id, actionRequests.agentId))
      .where(eq(actionRequests.id, claims.request_id))
      .for('update', { of: actionRequests });
    // A receipt this deployment signed names a request it holds; anything else is not one of ours.
    if (!locked || locked.request.id !== claims.jti) throw new InvalidReceiptError('MALFORMED', 'The receipt names no request here.');
    const request = locked.request;
    if (request.status !== 'APPROVED') {
      throw new ConflictError(`The request is ${request.status}: only an APPROVED request's receipt may be redeemed.`, request.status);
    }
    if (request.action !== claims.action) throw new InvalidReceiptError('ACTION_MISMATCH', 'The receipt names another action.');
    if (request.resource !== claims.resource) throw new InvalidReceiptError('RESOURCE_MISMATCH', 'The receipt names another resource.');
    if (paramsSha256(effectiveParams(request)) !== claims.params_sha256) {
      throw new InvalidReceiptError('PARAMS_MISMATCH', 'The receipt was issued for other params.');
    }
    if (locked.closed) throw new InvalidReceiptError('EXPIRED', `The receipt expired at ${request.validUntil?.toISOString()}.`);
    // A disabled agent's approvals are not acted on: disabling is how an operator stops a compromised agent.
    if (locked.agentDisabled)
      throw new ConflictError('The agent that asked was disabled: its approvals may no longer be redeemed.', request.status);

    const [inserted] = await tx
      .insert(receiptRedemptions)
      .values({ requestId: request.id, jti: claims.jti, redeemedById: redeemer.id })
      .onConflictDoNothing()
      .returning();
    if (!inserted) {
      const [first] = await tx
        .select({ at: receiptRedemptions.redeemedAt, id: principals.id, name: principals.name })
        .from(receiptRedemptions)
        .innerJoin(principals, eq(principals.id, receiptRedemptions.redeemedById))
        .where(eq(receiptRedemptions.requestId, request.id));
      throw new ConflictError(
        `The receipt was already redeemed, by ${first?.name ?? 'someone'} (${first?.id ?? 'unknown'}) at ${first?.at.toISOString() ?? 'an earlier time'}.`,
        request.status,
      );
    }
    const events = await appendAuditEvents(tx, [
      {
        type: 'RECEIPT_REDEEMED',
        actorId: redeemer.id,
        requestId: request.id,
        data: { agentId: request.agentId, redeemedById: redeemer.id, jti: claims.jti, keyId },
      },
    ]);
    return { redemption: { requestId: request.id, redeemedAt: inserted.redeemedAt, redeemedById: redeemer.id, claims }, events };
  });
  deps.hub.publish(events);
  return redemption;
}

import type { ReceiptClaims } from '../../receipts/claims.js';
import { receiptFor } from '../../receipts/receipts.js';
import { redeemReceipt, type ReceiptRedemption } from '../../receipts/redeem.js';
import { ConflictError, InvalidInputError, InvalidReceiptError } from '../../errors.js';
import { builder } from '../builder.js';
import { mutationErrors, toPayload } from '../errors.js';
import { entityPayload } from '../payloads.js';
import { ActionRequestRef } from './action-request.js';
import { PrincipalRef } from './principal.js';
import { viewerOf } from './viewer.js';

builder.objectField(ActionRequestRef, 'receipt', (t) =>
  t.string({
    nullable: true,
    description:
      'For the requesting agent, once APPROVED: a signed approval receipt, a compact JWS (EdDSA, `typ` greenlight-receipt+jwt) the executing system verifies offline against /.well-known/jwks.json and may spend once with `redeemReceipt`. Claims: `iss`, `sub` (the agent), `act.sub` (the human it acts for), `request_id`, `action`, `resource`, `params_sha256` (base64url SHA-256 of the RFC 8785 canonical `approvedParams`, `{}` when none), `approvers`, `policy_version`, `iat`, `nbf`, `exp` (`validUntil`) and `jti`. Null for anyone else, and before approval.',
    resolve: async (request, _args, ctx) => {
      if (request.status !== 'APPROVED' || request.agentId !== ctx.viewer?.id) return null;
      const reviews = request.decidedBy === 'REVIEWER' ? await ctx.loaders.reviews.load(request.id) : [];
      return receiptFor(ctx.deps.db, ctx.deps.receipts, viewerOf(ctx), request, reviews);
    },
  }),
);

const ReceiptRedemptionRef = builder.objectRef<ReceiptRedemption>('ReceiptRedemption').implement({
  description: 'A receipt spent by an executing system: the approval it carries may now be acted on, once.',
  fields: (t) => ({
    requestId: t.exposeID('requestId', { description: 'The approved request the receipt is for.' }),
    redeemedAt: t.expose('redeemedAt', { type: 'DateTime', description: 'When it was redeemed (database time).' }),
    redeemedBy: t.field({
      type: PrincipalRef,
      description: 'Who redeemed it: the caller.',
      resolve: async (redemption, _args, ctx) => (await ctx.loaders.principal.load(redemption.redeemedById))!,
    }),
    claims: t.field({
      type: 'JSON',
      description: "The receipt's verified claims (see `ActionRequest.receipt`).",
      resolve: (redemption): ReceiptClaims => redemption.claims,
    }),
  }),
});

const RedeemReceiptInput = builder.inputType('RedeemReceiptInput', {
  description: 'The receipt an executing system was given.',
  fields: (t) => ({
    receipt: t.string({ required: true, description: 'The compact JWS from `ActionRequest.receipt` (at most 8 KiB).' }),
    action: t.string({ required: false, description: 'The action about to be performed: when given, the receipt must approve it.' }),
    resource: t.string({ required: false, description: 'The resource it acts on: when given, the receipt must approve it.' }),
    params: t.field({
      type: 'JSON',
      required: false,
      description: 'The params it will use (`{}` for none): when given, their RFC 8785 hash must be `params_sha256`.',
    }),
  }),
});

const redeemReceiptErrors = mutationErrors([InvalidReceiptError, ConflictError, InvalidInputError]);

const RedeemReceiptPayload = entityPayload('RedeemReceiptPayload', {
  description: 'The redemption, or why the receipt was refused.',
  key: 'redemption',
  type: () => ReceiptRedemptionRef,
  fieldDescription: 'The redemption; null on error.',
  errors: redeemReceiptErrors,
});

builder.mutationField('redeemReceipt', (t) =>
  t.field({
    type: RedeemReceiptPayload,
    description:
      'Spends a signed approval receipt, once: the executing system calls it just before acting, ideally with the action, resource and params it is about to use. The signature, issuer and window are checked and the receipt is matched against its request (still APPROVED, same action, resource and params); the redemption is audited (RECEIPT_REDEEMED). A second redemption is a ConflictError naming the first; an invalid or expired receipt an InvalidReceiptError. Any authenticated principal.',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: RedeemReceiptInput, required: true, description: 'The receipt.' }) },
    resolve: (_root, { input }, ctx) =>
      toPayload(redeemReceiptErrors, async () => ({
        redemption: await redeemReceipt(ctx.deps, viewerOf(ctx), {
          ...input,
          params: input.params as Record<string, unknown> | null | undefined,
        }),
      })),
  }),
);

import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, SignJWT, type JWTPayload } from 'jose';
import { publicJwkOf, type AuditPublicJwk } from '../audit/keys.js';
import { ReceiptVerificationError } from '../client/errors.js';
import { RECEIPT_TYPE, verifiedReceipt } from '../client/receipts.js';
import { InvalidReceiptError } from '../errors.js';
import type { ReceiptClaims } from './claims.js';

const CLOCK_TOLERANCE_SECONDS = 30;

/** Signs approval receipts with this deployment's key and checks receipts against the keys it publishes. */
export interface ReceiptSigner {
  /** Who signs (`iss`). */
  issuer: string;
  keyId: string;
  /** The JWK Set served at `/.well-known/jwks.json`: this key, then RECEIPT_TRUSTED_KEYS. */
  jwks: { keys: readonly AuditPublicJwk[] };
  /** A compact JWS (EdDSA) of the claims. */
  sign(claims: ReceiptClaims): Promise<string>;
  /** The claims of a receipt signed by a published key (and that key's id), unexpired; else an `InvalidReceiptError` naming what failed. */
  verify(receipt: string): Promise<{ claims: ReceiptClaims; keyId: string }>;
}

export function createReceiptSigner(privateKey: KeyObject, trusted: readonly AuditPublicJwk[], issuer: string): ReceiptSigner {
  const own = publicJwkOf(privateKey);
  const jwks = { keys: [own, ...trusted.filter((key) => key.kid !== own.kid)] };
  const keySet = createLocalJWKSet({ keys: jwks.keys.map((key) => ({ ...key })) });
  return {
    issuer,
    keyId: own.kid,
    jwks,
    sign: (claims) =>
      new SignJWT(claims as unknown as JWTPayload).setProtectedHeader({ alg: 'EdDSA', kid: own.kid, typ: RECEIPT_TYPE }).sign(privateKey),
    async verify(receipt) {
      try {
        // Instances' clocks may differ a little; the approval window itself is judged on database time at redemption.
        return await verifiedReceipt(receipt, keySet, { issuer, clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS });
      } catch (error) {
        if (error instanceof ReceiptVerificationError) throw new InvalidReceiptError(error.problem, error.message);
        throw error;
      }
    },
  };
}

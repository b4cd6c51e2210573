import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { publicJwkOf, type AuditPublicJwk } from '../audit/keys.js';
import { InvalidReceiptError } from '../errors.js';
import { RECEIPT_TYPE, type ReceiptClaims } from './claims.js';

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
        const { payload, protectedHeader } = await jwtVerify(receipt, keySet, {
          algorithms: ['EdDSA'],
          typ: RECEIPT_TYPE,
          issuer,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        });
        if (typeof payload['request_id'] !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') {
          throw new InvalidReceiptError('MALFORMED', 'The receipt lacks request_id, jti or exp.');
        }
        return { claims: payload as unknown as ReceiptClaims, keyId: String(protectedHeader.kid) };
      } catch (error) {
        throw receiptError(error);
      }
    },
  };
}

/** jose's verdict in Greenlight's words. */
function receiptError(error: unknown): InvalidReceiptError {
  if (error instanceof InvalidReceiptError) return error;
  if (error instanceof errors.JWTExpired) return new InvalidReceiptError('EXPIRED', 'The receipt expired: its approval window closed.');
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new InvalidReceiptError('UNKNOWN_KEY', 'The receipt was signed with a key this deployment does not publish.');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InvalidReceiptError('BAD_SIGNATURE', 'The receipt signature does not verify: it was altered or signed by someone else.');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new InvalidReceiptError('NOT_YET_VALID', 'The receipt is not valid yet.');
    if (error.claim === 'iss') return new InvalidReceiptError('WRONG_ISSUER', 'The receipt was issued by another deployment.');
  }
  return new InvalidReceiptError('MALFORMED', 'This is not a Greenlight receipt (a compact JWS of type greenlight-receipt+jwt).');
}

import canonicalize from 'canonicalize';
import { base64url, createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ReceiptVerificationError } from './errors.js';

/** What a Greenlight approval receipt asserts (JWT claims; times in seconds since the epoch; see the README, "Approval receipts"). */
export interface ReceiptClaims {
  /** The deployment that signed it (PUBLIC_URL, else `greenlight`). */
  iss: string;
  /** The agent that asked. */
  sub: string;
  /** The human the agent acted for, when there was one (RFC 8693 actor-style claim). */
  act?: { sub: string };
  request_id: string;
  action: string;
  resource: string;
  /** base64url SHA-256 of the RFC 8785 canonical JSON of the approved params (`{}` when there are none). */
  params_sha256: string;
  /** Who approved: the reviewers whose approvals decided, the overriding ADMIN, or nobody when the policy allowed. */
  approvers: string[];
  policy_version: number | null;
  iat: number;
  nbf: number;
  /** The end of the approval window (`validUntil`). */
  exp: number;
  /** The receipt's id: the request's, so a request has one receipt and it is redeemed once. */
  jti: string;
}

export interface VerifyReceiptOptions {
  /** The action about to be performed. */
  action: string;
  /** The resource it acts on. */
  resource: string;
  /** The params it will use (`{}` when none). */
  params: Record<string, unknown> | null | undefined;
  /** The deployment's JWK Set, held locally: verification needs no network. */
  jwks?: JSONWebKeySet;
  /** Or where to fetch it (`<server>/.well-known/jwks.json`), cached by jose. */
  jwksUrl?: string | URL;
  /** The expected `iss` (PUBLIC_URL of the deployment); not checked when absent. */
  issuer?: string;
  /** Verify as of this time instead of now. */
  at?: Date;
  /** Clock difference allowed on `nbf` and `exp`, in seconds (default 5). */
  clockToleranceSeconds?: number;
}

/** The JWS `typ` of a receipt: a receipt is never mistaken for another JWT, nor another JWT for a receipt. */
export const RECEIPT_TYPE = 'greenlight-receipt+jwt';
const remoteSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** base64url SHA-256 of the RFC 8785 canonical form of `params` (`{}` when none), as in `params_sha256`. */
export async function paramsSha256(params: Record<string, unknown> | null | undefined): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalize(params ?? {}) ?? '{}');
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

function keySet(options: VerifyReceiptOptions) {
  if (options.jwks) return createLocalJWKSet(options.jwks);
  if (!options.jwksUrl) throw new TypeError('verifyReceipt needs `jwks` or `jwksUrl`.');
  const url = String(options.jwksUrl);
  let set = remoteSets.get(url);
  if (!set) remoteSets.set(url, (set = createRemoteJWKSet(new URL(url))));
  return set;
}

function problemOf(error: unknown): ReceiptVerificationError {
  if (error instanceof ReceiptVerificationError) return error;
  if (error instanceof errors.JWTExpired)
    return new ReceiptVerificationError('EXPIRED', 'The receipt expired: its approval window closed.');
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new ReceiptVerificationError('UNKNOWN_KEY', 'The receipt was signed with a key the JWK Set does not hold.');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new ReceiptVerificationError(
      'BAD_SIGNATURE',
      'The receipt signature does not verify: it was altered or signed by someone else.',
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf') {
    return new ReceiptVerificationError('NOT_YET_VALID', 'The receipt is not valid yet.');
  }
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'iss') {
    return new ReceiptVerificationError('WRONG_ISSUER', 'The receipt was issued by another deployment.');
  }
  return new ReceiptVerificationError('MALFORMED', 'This is not a Greenlight receipt (a compact JWS of type greenlight-receipt+jwt).');
}

/**
 * The checks every verifier of a receipt makes (this SDK's and the server's redemption): an EdDSA
 * signature by a key of `keys`, the receipt type, the claims a receipt always has, the issuer when
 * given, and `nbf`/`exp` within the clock tolerance. Throws a `ReceiptVerificationError`.
 */
export async function verifiedReceipt(
  receipt: string,
  keys: JWTVerifyGetKey,
  options: { issuer?: string | undefined; clockToleranceSeconds: number; at?: Date | undefined },
): Promise<{ claims: ReceiptClaims; keyId: string }> {
  try {
    const { payload, protectedHeader } = await jwtVerify(receipt, keys, {
      algorithms: ['EdDSA'],
      typ: RECEIPT_TYPE,
      requiredClaims: ['exp', 'jti', 'sub', 'request_id'],
      clockTolerance: options.clockToleranceSeconds,
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.at ? { currentDate: options.at } : {}),
    });
    return { claims: payload as unknown as ReceiptClaims, keyId: String(protectedHeader.kid) };
  } catch (error) {
    throw problemOf(error);
  }
}

/**
 * Checks a receipt offline before acting: the signature against the deployment's keys, the type,
 * the window, and that it approves exactly this action, resource and params. Returns the claims,
 * or throws a `ReceiptVerificationError` whose `problem` names what does not match. It does not
 * spend the receipt: call `redeemReceipt` for that, where the executing system can reach Greenlight.
 */
export async function verifyReceipt(receipt: string, options: VerifyReceiptOptions): Promise<ReceiptClaims> {
  const { claims } = await verifiedReceipt(receipt, keySet(options), {
    issuer: options.issuer,
    clockToleranceSeconds: options.clockToleranceSeconds ?? 5,
    at: options.at,
  });
  if (claims.action !== options.action) {
    throw new ReceiptVerificationError('ACTION_MISMATCH', `The receipt approves ${claims.action}, not ${options.action}.`);
  }
  if (claims.resource !== options.resource) {
    throw new ReceiptVerificationError('RESOURCE_MISMATCH', `The receipt approves ${claims.resource}, not ${options.resource}.`);
  }
  if (claims.params_sha256 !== (await paramsSha256(options.params))) {
    throw new ReceiptVerificationError('PARAMS_MISMATCH', 'The receipt approves other params than these.');
  }
  return claims;
}

import canonicalize from 'canonicalize';
import { base64url, createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
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

const RECEIPT_TYPE = 'greenlight-receipt+jwt';
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
 * Checks a receipt offline before acting: the signature against the deployment's keys, the type,
 * the window, and that it approves exactly this action, resource and params. Returns the claims,
 * or throws a `ReceiptVerificationError` whose `problem` names what does not match. It does not
 * spend the receipt: call `redeemReceipt` for that, where the executing system can reach Greenlight.
 */
export async function verifyReceipt(receipt: string, options: VerifyReceiptOptions): Promise<ReceiptClaims> {
  let claims: ReceiptClaims;
  try {
    const { payload } = await jwtVerify(receipt, keySet(options), {
      algorithms: ['EdDSA'],
      typ: RECEIPT_TYPE,
      requiredClaims: ['exp', 'jti', 'sub'],
      clockTolerance: options.clockToleranceSeconds ?? 5,
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.at ? { currentDate: options.at } : {}),
    });
    claims = payload as unknown as ReceiptClaims;
  } catch (error) {
    throw problemOf(error);
  }
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

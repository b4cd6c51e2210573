import { createHash, randomBytes } from 'node:crypto';

const TOKEN_PREFIX = 'gl_';
const TOKEN_BYTES = 32; // 256 bits of entropy

/**
 * What every secret Greenlight issues looks like: `gl_` and 43 base64url characters (32 random
 * bytes). Secret scanners (GitHub's, gitleaks, trufflehog) can use it as is; the word boundary and
 * the look-ahead keep it from matching inside longer strings. Documented in SECURITY.md.
 */
export const TOKEN_PATTERN = /\bgl_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/;

/** A new opaque bearer token. It is shown once to its owner and never stored. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * What is stored and looked up instead of the token. Tokens are long random strings, so a fast
 * unsalted hash is enough: there is no dictionary to attack, unlike with passwords.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The token from an `Authorization: Bearer <token>` value; null when absent or malformed. */
export function parseBearer(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

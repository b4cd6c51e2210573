import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkpointMessage } from './chain.js';

/** An Ed25519 public key as a JWK (RFC 8037), with its RFC 7638 thumbprint as `kid`. */
export interface AuditPublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** The key that signs checkpoints, and the public keys checkpoints are verified with. */
export interface AuditKeyring {
  keyId: string;
  publicJwk: AuditPublicJwk;
  /** Every key checkpoints may be signed with: this instance's, then AUDIT_TRUSTED_KEYS. */
  trusted: readonly AuditPublicJwk[];
  /** Signs `(seq, hash)`; base64url. */
  sign(checkpoint: { seq: number; hash: string }): string;
  /** Verifies a checkpoint's signature with the trusted key named by `keyId`; false for an unknown key. */
  verify(checkpoint: { seq: number; hash: string; keyId: string; signature: string }): boolean;
}

/** RFC 7638: SHA-256 over the JWK's required members in lexicographic order, base64url. */
function thumbprint(jwk: { crv: string; kty: string; x: string }): string {
  return createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))
    .digest('base64url');
}

export function publicJwkOf(key: KeyObject): AuditPublicJwk {
  const { crv, kty, x } = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' }) as {
    crv: 'Ed25519';
    kty: 'OKP';
    x: string;
  };
  if (kty !== 'OKP' || crv !== 'Ed25519') throw new Error('The signing key must be an Ed25519 key (PKCS#8 PEM).');
  return { kty, crv, x, kid: thumbprint({ crv, kty, x }), alg: 'EdDSA', use: 'sig' };
}

/** Verifies a checkpoint against a set of trusted public keys (JWKs); usable offline. */
export function verifyCheckpoint(
  trusted: readonly AuditPublicJwk[],
  checkpoint: { seq: number; hash: string; keyId: string; signature: string },
): boolean {
  const jwk = trusted.find((key) => key.kid === checkpoint.keyId);
  if (!jwk) return false;
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
  return verify(null, checkpointMessage(checkpoint), key, Buffer.from(checkpoint.signature, 'base64url'));
}

/** An Ed25519 public JWK as given (e.g. in AUDIT_TRUSTED_KEYS), with `kid` recomputed from the key itself. */
export function trustedJwk(jwk: { kty: string; crv: string; x: string }): AuditPublicJwk {
  return publicJwkOf(createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' }));
}

export function keyringFor(privateKey: KeyObject, others: readonly AuditPublicJwk[] = []): AuditKeyring {
  const publicJwk = publicJwkOf(privateKey);
  const trusted = [publicJwk, ...others.filter((key) => key.kid !== publicJwk.kid)];
  return {
    keyId: publicJwk.kid,
    publicJwk,
    trusted,
    sign: (checkpoint) => sign(null, checkpointMessage(checkpoint), privateKey).toString('base64url'),
    verify: (checkpoint) => verifyCheckpoint(trusted, checkpoint),
  };
}

export function generateSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export interface SigningKeySource {
  /** A PKCS#8 PEM given directly (AUDIT_SIGNING_KEY). */
  pem: string | undefined;
  /** A file holding the PEM; created (mode 0600) with a new key when absent. */
  file: string | undefined;
  /** Public keys of other signers to trust: other instances', earlier keys of this one. */
  trusted?: readonly AuditPublicJwk[] | undefined;
}

/**
 * Loads an Ed25519 private key: the PEM given, else the file (generated, mode 0600, on first start
 * and shared by instances on the same folder), else a key that lives only as long as this process
 * (an in-memory database), after `warnEphemeral` is called.
 */
export function loadSigningKey(source: { pem: string | undefined; file: string | undefined }, warnEphemeral: () => void): KeyObject {
  if (source.pem) return createPrivateKey(source.pem);
  if (source.file) {
    if (!existsSync(source.file)) {
      mkdirSync(dirname(source.file), { recursive: true });
      try {
        writeFileSync(source.file, generateSigningKeyPem(), { mode: 0o600, flag: 'wx' });
      } catch (error) {
        // Another instance sharing the folder wrote it first: use theirs.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return createPrivateKey(readFileSync(source.file));
  }
  warnEphemeral();
  return createPrivateKey(generateSigningKeyPem());
}

/**
 * Loads the checkpoint signing key (see `loadSigningKey`). Instances on one database should share
 * one key; checkpoints signed with another key (another instance's, an earlier one) verify only
 * when that key is in `trusted`.
 */
export function loadAuditKeyring(source: SigningKeySource, warn: (message: string) => void): AuditKeyring {
  const key = loadSigningKey(source, () =>
    warn(
      'No audit signing key configured (AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE): checkpoints are signed with a key that dies with this process.',
    ),
  );
  return keyringFor(key, source.trusted ?? []);
}

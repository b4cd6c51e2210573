import { hash } from 'node:crypto';

/**
 * The hash chain, as data. Every sealed audit event carries `seq` (its place, gap-free from 1),
 * `prevHash` (the hash of the event before it) and `hash = sha256(prevHash ‖ canonical(event))`:
 * the SHA-256, in lower-case hex, of the previous hash's hex text followed by the event's RFC 8785
 * canonical JSON. Anyone can recompute it from an export, in any language.
 */

/** The `prevHash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an event that the chain covers. `createdAt` is ISO 8601 UTC with microseconds. */
export interface ChainedFields {
  id: number;
  type: string;
  actorId: string | null;
  requestId: string | null;
  data: unknown;
  createdAt: string;
}

export interface SealedEvent extends ChainedFields {
  seq: number;
  prevHash: string;
  hash: string;
}

/**
 * RFC 8785 (JCS) for JSON values: object members sorted by UTF-16 code units, strings and numbers
 * as ECMAScript's JSON.stringify writes them, no white space. The same output as the
 * `canonicalize` package (a test compares them on random values), written for the audit
 * verifier's hot path.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (value[i] === undefined ? 'null' : canonicalJson(value[i]));
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
    first = false;
  }
  return `${out}}`;
}

/** The canonical JSON of an event (RFC 8785): what its hash covers. Members in JCS order. */
export function canonicalEvent(event: ChainedFields): string {
  return (
    `{"actorId":${JSON.stringify(event.actorId)},"createdAt":${JSON.stringify(event.createdAt)},"data":${canonicalJson(event.data)},` +
    `"id":${JSON.stringify(event.id)},"requestId":${JSON.stringify(event.requestId)},"type":${JSON.stringify(event.type)}}`
  );
}

/**
 * `sha256(prevHash ‖ canonical(event))` in lower-case hex, the UTF-8 of both texts hashed in one
 * call. Joining the two strings first changes no byte (the canonical text starts with `{`, so no
 * surrogate pair can form across the seam), and it is cheaper than a Hash object per event: the
 * sealer, the verifier and the node-postgres chain reader all hash with this one function.
 */
export function eventHash(prevHash: string, event: ChainedFields): string {
  return hash('sha256', prevHash + canonicalEvent(event), 'hex');
}

/** The bytes a checkpoint signs: canonical `{"hash": …, "seq": …}`. */
export function checkpointMessage(checkpoint: { seq: number; hash: string }): Buffer {
  return Buffer.from(canonicalJson({ hash: checkpoint.hash, seq: checkpoint.seq }));
}

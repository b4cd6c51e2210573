import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

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

/** The canonical JSON of an event (RFC 8785): what its hash covers. */
export function canonicalEvent(event: ChainedFields): string {
  const { id, type, actorId, requestId, data, createdAt } = event;
  return canonicalize({ id, type, actorId, requestId, data, createdAt })!;
}

export function eventHash(prevHash: string, event: ChainedFields): string {
  return createHash('sha256').update(prevHash).update(canonicalEvent(event)).digest('hex');
}

/** The bytes a checkpoint signs: canonical `{"hash": …, "seq": …}`. */
export function checkpointMessage(checkpoint: { seq: number; hash: string }): Buffer {
  return Buffer.from(canonicalize({ hash: checkpoint.hash, seq: checkpoint.seq })!);
}

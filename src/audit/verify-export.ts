import type { SealedEvent } from './chain.js';
import type { ExportLine } from './export.js';
import { verifyCheckpoint, type AuditPublicJwk } from './keys.js';
import { GENESIS_HASH, verifyChain, type CheckpointRecord, type VerificationReport } from './verify.js';

/**
 * Verifies an export (the NDJSON of `GET /audit/export`) with no database: the chain is recomputed
 * from the lines and every checkpoint in them is checked against the trusted public keys (the
 * JWK served at /.well-known/greenlight-audit-key.json). `open` reads the export from the start;
 * it is called more than once (checkpoints first, then the events, and once more to explain a
 * break). An export that starts after seq 1 trusts its first event's `prevHash`.
 */
export async function verifyExport(open: () => AsyncIterable<ExportLine>, trusted: readonly AuditPublicJwk[]): Promise<VerificationReport> {
  const checkpoints: CheckpointRecord[] = [];
  let first: SealedEvent | null = null;
  for await (const line of open()) {
    if (line.kind === 'checkpoint') checkpoints.push({ seq: line.seq, hash: line.hash, keyId: line.keyId, signature: line.signature });
    else first ??= eventOf(line);
  }
  return verifyChain({
    events: events(open),
    checkpoints,
    fromSeq: first?.seq ?? 1,
    prevHash: first && first.seq > 1 ? first.prevHash : GENESIS_HASH,
    hashExists: async (hash) => {
      for await (const event of events(open)) if (event.hash === hash) return true;
      return false;
    },
    verifySignature: (checkpoint) => verifyCheckpoint(trusted, checkpoint),
  });
}

function eventOf(line: Extract<ExportLine, { kind: 'event' }>): SealedEvent {
  const { kind: _kind, ...event } = line;
  return event;
}

async function* events(open: () => AsyncIterable<ExportLine>): AsyncGenerator<SealedEvent> {
  for await (const line of open()) if (line.kind === 'event') yield eventOf(line);
}

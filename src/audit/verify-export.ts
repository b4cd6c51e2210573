import type { SealedEvent } from './chain.js';
import type { ExportLine } from './export.js';
import { verifyCheckpoint, type AuditPublicJwk } from './keys.js';
import { GENESIS_HASH, verifyChain, type CheckpointRecord, type VerificationReport } from './verify.js';

/**
 * Verifies an export (the NDJSON of `GET /audit/export`) with no database: the chain is recomputed
 * from the lines and every checkpoint in them is checked against the trusted public keys (the
 * JWK served at /.well-known/greenlight-audit-key.json). `open` reads the export from the start;
 * it is called more than once (checkpoints first, then the events, and once more to explain a
 * break). An export that starts after seq 1 trusts its first event's `prevHash`. Since anyone can
 * recompute a hash chain, the export is only ok when something trusted vouches for it: a signed
 * checkpoint in it, or `anchor`, a checkpoint `{seq, hash}` obtained elsewhere (e.g. from the
 * server, or an earlier export) that the export must reach.
 */
export async function verifyExport(
  open: () => AsyncIterable<ExportLine>,
  trusted: readonly AuditPublicJwk[],
  options: { anchor?: { seq: number; hash: string } | undefined } = {},
): Promise<VerificationReport> {
  const checkpoints: CheckpointRecord[] = [];
  let first: SealedEvent | null = null;
  for await (const line of open()) {
    if (line.kind === 'checkpoint') checkpoints.push({ seq: line.seq, hash: line.hash, keyId: line.keyId, signature: line.signature });
    else first ??= eventOf(line);
  }
  let anchored: string | null = null;
  const report = await verifyChain({
    events: (async function* () {
      for await (const event of events(open)) {
        if (event.seq === options.anchor?.seq) anchored = event.hash;
        yield event;
      }
    })(),
    checkpoints,
    fromSeq: first?.seq ?? 1,
    prevHash: first && first.seq > 1 ? first.prevHash : GENESIS_HASH,
    hashExists: async (hash) => {
      for await (const event of events(open)) if (event.hash === hash) return true;
      return false;
    },
    verifySignature: (checkpoint) => verifyCheckpoint(trusted, checkpoint),
  });
  if (!report.ok) return report;
  // A chain anyone could have recomputed proves nothing: something trusted must vouch for it.
  if (options.anchor) {
    if (anchored === options.anchor.hash) return report;
    const message =
      anchored === null
        ? `The export does not reach seq ${options.anchor.seq}, which the checkpoint names.`
        : `Seq ${options.anchor.seq} does not have the hash the checkpoint names.`;
    return { ...report, ok: false, firstBrokenSeq: options.anchor.seq, reason: anchored === null ? 'DELETED' : 'MODIFIED', message };
  }
  if (report.checkpointsChecked === 0) {
    return {
      ...report,
      ok: false,
      message: 'No checkpoint signed by a trusted key is in the export, and no checkpoint was given: nothing vouches for it.',
    };
  }
  return report;
}

function eventOf(line: Extract<ExportLine, { kind: 'event' }>): SealedEvent {
  const { kind: _kind, ...event } = line;
  return event;
}

async function* events(open: () => AsyncIterable<ExportLine>): AsyncGenerator<SealedEvent> {
  for await (const line of open()) if (line.kind === 'event') yield eventOf(line);
}

import { and, asc, gt, lte } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { auditCheckpoints, auditEvents } from '../db/schema.js';
import type { SealedEvent } from './chain.js';
import type { CheckpointRecord } from './verify.js';
import { chainHead, sealedColumns } from './seal.js';

const EXPORT_CHUNK = 1_000;

/** One line of an export: a sealed event, or the checkpoint signed at the event before it. */
export type ExportLine = ({ kind: 'event' } & SealedEvent) | ({ kind: 'checkpoint' } & CheckpointRecord);

/**
 * The sealed audit log after `afterSeq`, up to the chain's head when the export starts: events
 * in `seq` order, each checkpoint right after the event it signs. Reads in keyset chunks, so a
 * consumer that stops reading (backpressure) holds no more than one chunk in memory. The last
 * event's `seq` is the cursor to resume from.
 */
export async function* exportAuditLog(db: Executor, afterSeq: number): AsyncGenerator<ExportLine> {
  const head = (await chainHead(db))?.seq ?? 0;
  let after = afterSeq;
  while (after < head) {
    const upTo = Math.min(after + EXPORT_CHUNK, head);
    const [events, checkpoints] = await Promise.all([
      db.select(sealedColumns).from(auditEvents).where(and(gt(auditEvents.seq, after), lte(auditEvents.seq, upTo))).orderBy(asc(auditEvents.seq)),
      db
        .select({ seq: auditCheckpoints.seq, hash: auditCheckpoints.hash, keyId: auditCheckpoints.keyId, signature: auditCheckpoints.signature })
        .from(auditCheckpoints)
        .where(and(gt(auditCheckpoints.seq, after), lte(auditCheckpoints.seq, upTo)))
        .orderBy(asc(auditCheckpoints.seq)),
    ]);
    let next = 0;
    for (const event of events) {
      yield { kind: 'event', ...event };
      while (checkpoints[next] && checkpoints[next]!.seq <= event.seq) yield { kind: 'checkpoint', ...checkpoints[next++]! };
    }
    after = upTo;
  }
}

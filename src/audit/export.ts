import { and, asc, gt, lte } from 'drizzle-orm';
import { authorize, can, Permission } from '../auth/permissions.js';
import type { Session } from '../auth/authenticator.js';
import type { Executor } from '../db/client.js';
import { auditCheckpoints, auditEvents } from '../db/schema.js';
import type { Deps } from '../deps.js';
import type { SealedEvent } from './chain.js';
import { listRedactedValues } from './redacted-values.js';
import type { RedactedValue } from './redaction.js';
import { chainHead, sealedColumns } from './seal.js';
import type { CheckpointRecord } from './verify.js';

const EXPORT_CHUNK = 1_000;

/**
 * One line of an export: a sealed event, or the checkpoint signed at the event before it. In an
 * export for ADMIN, an event whose data holds redaction markers also carries `redacted`: the
 * values behind them (outside the chain: `data` stays as sealed, so the export still verifies).
 */
export type ExportLine = ({ kind: 'event'; redacted?: RedactedValue[] } & SealedEvent) | ({ kind: 'checkpoint' } & CheckpointRecord);

export interface ExportOptions {
  /** Add the redacted values to the events that have some (ADMIN only). */
  withRedacted?: boolean;
  /** Checked before each chunk: throws to end the export (the reader's token was revoked, say). */
  stillAllowed?: () => Promise<void>;
}

/**
 * The sealed audit log after `afterSeq`, up to the chain's head when the export starts: events
 * in `seq` order, each checkpoint right after the event it signs. Reads in keyset chunks, so a
 * consumer that stops reading (backpressure) holds no more than one chunk in memory. The last
 * event's `seq` is the cursor to resume from.
 */
export async function* exportAuditLog(db: Executor, afterSeq: number, options: ExportOptions = {}): AsyncGenerator<ExportLine> {
  const head = (await chainHead(db))?.seq ?? 0;
  let after = afterSeq;
  while (after < head) {
    await options.stillAllowed?.();
    const upTo = Math.min(after + EXPORT_CHUNK, head);
    const [events, checkpoints] = await Promise.all([
      db
        .select(sealedColumns)
        .from(auditEvents)
        .where(and(gt(auditEvents.seq, after), lte(auditEvents.seq, upTo)))
        .orderBy(asc(auditEvents.seq)),
      db
        .select({
          seq: auditCheckpoints.seq,
          hash: auditCheckpoints.hash,
          keyId: auditCheckpoints.keyId,
          signature: auditCheckpoints.signature,
        })
        .from(auditCheckpoints)
        .where(and(gt(auditCheckpoints.seq, after), lte(auditCheckpoints.seq, upTo)))
        .orderBy(asc(auditCheckpoints.seq)),
    ]);
    const redacted = options.withRedacted
      ? await listRedactedValues(
          db,
          events.map((event) => event.id),
        )
      : new Map<number, RedactedValue[]>();
    let next = 0;
    for (const event of events) {
      const values = redacted.get(event.id);
      yield values ? { kind: 'event', ...event, redacted: values } : { kind: 'event', ...event };
      while (checkpoints[next] && checkpoints[next]!.seq <= event.seq) yield { kind: 'checkpoint', ...checkpoints[next++]! };
    }
    after = upTo;
  }
}

/**
 * The export `viewer` may take (AUDITOR or ADMIN, else NotAllowedError); an ADMIN's lines carry
 * the values behind redaction markers.
 */
export function exportAuditLogAs(deps: Pick<Deps, 'db' | 'auth'>, session: Session, afterSeq: number): AsyncGenerator<ExportLine> {
  const viewer = session.principal;
  authorize(viewer, Permission.ReadAudit);
  return exportAuditLog(deps.db, afterSeq, {
    withRedacted: can(viewer, Permission.ReadRedacted),
    // A long export stops at the next chunk once its token is revoked or its reader demoted.
    stillAllowed: async () => {
      await deps.auth.verify(session);
      authorize(viewer, Permission.ReadAudit);
    },
  });
}

import { and, asc, count, eq, gt, gte, isNull, lte } from 'drizzle-orm';
import { authorize, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { Executor } from '../db/client.js';
import { auditCheckpoints, auditEvents } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { InvalidInputError } from '../errors.js';
import type { SealedEvent } from './chain.js';
import { checkedEventsPg, defaultReaderThreads, nodePostgresOf } from './checked-events-pg.js';
import type { AuditKeyring } from './keys.js';
import { chainHead, sealedColumns } from './seal.js';
import { GENESIS_HASH, verifyChain, type CheckpointRecord, type VerificationReport } from './verify.js';

const READ_CHUNK = 5_000;

/** From this many events on, reader threads help (starting one takes a few hundred ms). */
const THREADS_FROM = 50_000;

/** Key ids that signed checkpoints here but are not trusted by `keyring`: their checkpoints fail. */
export async function untrustedSigners(db: Executor, keyring: Pick<AuditKeyring, 'trusted'>): Promise<string[]> {
  const signers = await db.selectDistinct({ keyId: auditCheckpoints.keyId }).from(auditCheckpoints);
  return signers.map((s) => s.keyId).filter((keyId) => !keyring.trusted.some((key) => key.kid === keyId));
}

export interface AuditLogVerification extends VerificationReport {
  /** The range checked. */
  fromSeq: number;
  toSeq: number;
  /** Committed events the sealer has not placed in the chain yet (not covered by this check). */
  unsealedEvents: number;
}

/** How `verifyAuditLog` works; the defaults suit production. */
export interface VerifyOptions {
  /**
   * On node-postgres, how many reader threads read and hash chunks of the log beside this thread,
   * each on a connection of its own. Default: one per other core when the range holds
   * THREADS_FROM events or more, else none. PGlite always reads on this thread.
   */
  readerThreads?: number;
  /** On node-postgres, how many places of the chain one read covers (default 10,000; tests use a few). */
  chunkEvents?: number;
}

async function* sealedEvents(db: Executor, fromSeq: number, toSeq: number): AsyncGenerator<SealedEvent> {
  let after = fromSeq - 1;
  for (;;) {
    const rows = await db
      .select(sealedColumns)
      .from(auditEvents)
      .where(and(gt(auditEvents.seq, after), lte(auditEvents.seq, toSeq)))
      .orderBy(asc(auditEvents.seq))
      .limit(READ_CHUNK);
    yield* rows;
    if (rows.length < READ_CHUNK) return;
    after = rows.at(-1)!.seq;
  }
}

/**
 * `verifyAuditLog` for a viewer who may read the log (AUDITOR, ADMIN). A range whose start is
 * after its end is refused (InvalidInputError): it would report an empty range as intact. A break
 * a check of the whole log finds raises the alarm (`AuditAlarm`) with the viewer as its finder.
 */
export async function verifyAuditLogAs(
  deps: Pick<Deps, 'db' | 'auditKeys' | 'auditAlarm'>,
  viewer: Principal,
  range: { from?: number | null | undefined; to?: number | null | undefined },
): Promise<AuditLogVerification> {
  authorize(viewer, Permission.ReadAudit);
  for (const field of ['from', 'to'] as const) {
    const value = range[field];
    if (value != null && (!Number.isSafeInteger(value) || value < 1))
      throw InvalidInputError.of(field, 'must be a seq: a whole number from 1');
  }
  if (range.from != null && range.to != null && range.from > range.to) throw InvalidInputError.of('to', 'must not be before from');
  const report = await verifyAuditLog(deps.db, deps.auditKeys, range);
  await deps.auditAlarm.raise(report, viewer.id);
  return report;
}

/**
 * Verifies the sealed audit log from `from` to `to` (default: all of it) against the checkpoint
 * signatures this instance trusts. A range that does not start at 1 trusts the stored hash of
 * the event before it as its starting point.
 */
export async function verifyAuditLog(
  db: Executor,
  keyring: Pick<AuditKeyring, 'verify'>,
  range: { from?: number | null | undefined; to?: number | null | undefined } = {},
  options: VerifyOptions = {},
): Promise<AuditLogVerification> {
  const head = await chainHead(db);
  const fromSeq = Math.max(1, range.from ?? 1);
  const toSeq = Math.min(range.to ?? Number.MAX_SAFE_INTEGER, head?.seq ?? 0);
  const [unsealed] = await db.select({ n: count() }).from(auditEvents).where(isNull(auditEvents.seq));
  const context = { fromSeq, toSeq, unsealedEvents: unsealed?.n ?? 0 };

  const nothing = { eventsChecked: 0, checkpointsChecked: 0, lastSeq: null, lastCheckpointSeq: null };
  // A range that starts after the newest sealed event holds nothing to check (and nothing broken).
  if (fromSeq > (head?.seq ?? 0)) return { ok: true, ...nothing, ...context, firstBrokenSeq: null, reason: null, message: null };
  let prevHash = GENESIS_HASH;
  if (fromSeq > 1) {
    const [before] = await db
      .select({ hash: sealedColumns.hash })
      .from(auditEvents)
      .where(eq(auditEvents.seq, fromSeq - 1));
    if (!before)
      return {
        ok: false,
        ...nothing,
        ...context,
        firstBrokenSeq: fromSeq - 1,
        reason: 'DELETED',
        message: `No event has seq ${fromSeq - 1}.`,
      };
    prevHash = before.hash;
  }
  const checkpoints = await db
    .select({
      seq: auditCheckpoints.seq,
      hash: auditCheckpoints.hash,
      keyId: auditCheckpoints.keyId,
      signature: auditCheckpoints.signature,
    })
    .from(auditCheckpoints)
    .where(and(gte(auditCheckpoints.seq, fromSeq), range.to == null ? undefined : lte(auditCheckpoints.seq, toSeq)))
    .orderBy(asc(auditCheckpoints.seq));
  const common = {
    checkpoints,
    fromSeq,
    prevHash,
    hashExists: async (hash: string) =>
      (await db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.hash, hash)).limit(1)).length > 0,
    verifySignature: (checkpoint: CheckpointRecord) => keyring.verify(checkpoint),
  };
  // On node-postgres, rows are hashed as they arrive, by several threads for a long range; on
  // PGlite, drizzle reads and `verifyChain` hashes.
  const pool = nodePostgresOf(db);
  const threads = options.readerThreads ?? (toSeq - fromSeq + 1 >= THREADS_FROM ? defaultReaderThreads() : 0);
  const report = await verifyChain(
    pool
      ? {
          ...common,
          checkedEvents: checkedEventsPg(
            pool,
            { fromSeq, toSeq, openEnded: range.to == null },
            { threads, chunkEvents: options.chunkEvents },
          ),
        }
      : { ...common, events: sealedEvents(db, fromSeq, range.to == null ? Number.MAX_SAFE_INTEGER : toSeq) },
  );
  // Without `to`, events sealed while checking were checked too.
  return { ...report, ...context, toSeq: Math.max(toSeq, report.lastSeq ?? 0) };
}

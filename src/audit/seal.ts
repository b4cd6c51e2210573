import { asc, desc, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { auditCheckpoints, auditEvents, type AuditCheckpointRow } from '../db/schema.js';
import { eventHash, GENESIS_HASH, type SealedEvent } from './chain.js';
import type { AuditKeyring } from './keys.js';

/** At most this many events are sealed in one transaction. */
export const SEAL_BATCH = 1_000;

/**
 * The columns the chain covers, with `createdAt` rendered to the microsecond by the database, and
 * `data` read as its JSON text and parsed exactly once (drizzle's jsonb mapping parses a JSON
 * string a second time, which would let `data` be replaced by a string holding the same JSON).
 */
export const chainedColumns = {
  id: auditEvents.id,
  type: auditEvents.type,
  actorId: auditEvents.actorId,
  requestId: auditEvents.requestId,
  data: sql<unknown>`${auditEvents.data}::text`.mapWith((text: string) => JSON.parse(text)),
  createdAt: sql<string>`to_char(${auditEvents.createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
};

export const sealedColumns = {
  ...chainedColumns,
  seq: sql<number>`${auditEvents.seq}`.mapWith(Number),
  prevHash: sql<string>`${auditEvents.prevHash}`,
  hash: sql<string>`${auditEvents.hash}`,
};

export interface CheckpointPolicy {
  /** Sign once this many events were sealed since the last checkpoint... */
  everyEvents: number;
  /** ...or once this long passed since it, if anything new was sealed. */
  everyMs: number;
}

export interface SealResult {
  sealed: number;
  /** The chain's head after the batch; null while nothing is sealed. */
  head: { seq: number; hash: string } | null;
  checkpoint: AuditCheckpointRow | null;
}

/** The last sealed event's place and hash. */
export async function chainHead(db: Executor): Promise<{ seq: number; hash: string } | null> {
  const [head] = await db
    .select({ seq: sealedColumns.seq, hash: sealedColumns.hash })
    .from(auditEvents)
    .where(isNotNull(auditEvents.seq))
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  return head ?? null;
}

/**
 * Seals one batch: the committed events that have no `seq` yet, in id order, get the next
 * places in the chain, and a checkpoint is signed when the policy says it is due. One
 * transaction. Events of transactions still open are invisible here and are sealed by a later
 * batch, after the ones committed before them: `seq` is the order events became durable, which
 * is why the chain never waits for a slow writer and never has a gap. Only the elected sealer
 * calls this (see `startSealer`); should two ever race, the unique `seq` makes one of them fail
 * and roll back.
 */
export async function sealBatch(db: Executor, keyring: AuditKeyring, policy: CheckpointPolicy, limit = SEAL_BATCH): Promise<SealResult> {
  return db.transaction(async (tx) => {
    let head = await chainHead(tx);
    const pending = await tx.select(chainedColumns).from(auditEvents).where(isNull(auditEvents.seq)).orderBy(asc(auditEvents.id)).limit(limit);
    if (pending.length > 0) {
      if (head) await assertHeadLinked(tx, head);
      const sealed: SealedEvent[] = [];
      let prev = head ?? { seq: 0, hash: GENESIS_HASH };
      for (const event of pending) {
        const next = { ...event, seq: prev.seq + 1, prevHash: prev.hash, hash: eventHash(prev.hash, event) };
        sealed.push(next);
        prev = next;
      }
      const values = sql.join(
        sealed.map((e) => sql`(${e.id}::bigint, ${e.seq}::bigint, ${e.prevHash}, ${e.hash})`),
        sql`, `,
      );
      const updated = (await tx.execute(sql`
        UPDATE audit_events AS a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, sealed_at = now()
        FROM (VALUES ${values}) AS v(id, seq, prev_hash, hash)
        WHERE a.id = v.id AND a.seq IS NULL
        RETURNING a.id`)) as unknown as { rows: unknown[] };
      if (updated.rows.length !== sealed.length) throw new Error('Another sealer sealed some of these events; this batch is rolled back.');
      head = { seq: prev.seq, hash: prev.hash };
    }
    const checkpoint = head ? await checkpointIfDue(tx, keyring, policy, head) : null;
    return { sealed: pending.length, head, checkpoint };
  });
}

/**
 * The sealer only extends a chain whose head is linked to the event before it: a row smuggled in
 * past the append-only trigger (with a made-up seq) stops sealing loudly instead of being built on.
 */
async function assertHeadLinked(tx: Executor, head: { seq: number; hash: string }): Promise<void> {
  const [row] = await tx
    .select({ prevHash: sealedColumns.prevHash, before: sql<string | null>`(SELECT b.hash FROM audit_events b WHERE b.seq = ${head.seq - 1})` })
    .from(auditEvents)
    .where(sql`${auditEvents.seq} = ${head.seq}`);
  const expected = head.seq === 1 ? GENESIS_HASH : row?.before;
  if (!row || row.prevHash !== expected) {
    throw new Error(`The audit chain's head (seq ${head.seq}) is not linked to seq ${head.seq - 1}: sealing stops. Run verifyAuditLog.`);
  }
}

async function checkpointIfDue(
  tx: Executor,
  keyring: AuditKeyring,
  policy: CheckpointPolicy,
  head: { seq: number; hash: string },
): Promise<AuditCheckpointRow | null> {
  const [last] = await tx
    .select({ seq: auditCheckpoints.seq, ageMs: sql<number>`extract(epoch from now() - ${auditCheckpoints.createdAt}) * 1000`.mapWith(Number) })
    .from(auditCheckpoints)
    .orderBy(desc(auditCheckpoints.seq))
    .limit(1);
  const since = head.seq - (last?.seq ?? 0);
  if (since <= 0) return null;
  if (last && since < policy.everyEvents && last.ageMs < policy.everyMs) return null;
  if (!last && since < policy.everyEvents && !(await firstEventOlderThan(tx, policy.everyMs))) return null;
  const [checkpoint] = await tx
    .insert(auditCheckpoints)
    .values({ seq: head.seq, hash: head.hash, keyId: keyring.keyId, signature: keyring.sign(head) })
    .returning();
  return checkpoint!;
}

/** Before the first checkpoint, time counts from the first sealed event. */
async function firstEventOlderThan(tx: Executor, ms: number): Promise<boolean> {
  const [row] = await tx
    .select({ old: sql<boolean>`${auditEvents.sealedAt} <= now() - make_interval(secs => ${ms / 1_000})` })
    .from(auditEvents)
    .where(sql`${auditEvents.seq} = 1`);
  return row?.old ?? false;
}

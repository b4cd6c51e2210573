import { desc, isNotNull, sql } from 'drizzle-orm';
import type { Database, Executor } from '../db/client.js';
import { auditCheckpoints, auditEvents, type AuditCheckpointRow } from '../db/schema.js';
import { SEALER_APPLICATION_NAME } from '../events/log.js';
import { eventHash, GENESIS_HASH } from './chain.js';
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

/** The chained columns of a sealed event, with its place in the chain and its links. */
export const sealedColumns = {
  ...chainedColumns,
  seq: sql<number>`${auditEvents.seq}`.mapWith(Number),
  prevHash: sql<string>`${auditEvents.prevHash}`,
  hash: sql<string>`${auditEvents.hash}`,
};

/** When the sealer signs a checkpoint. */
export interface CheckpointPolicy {
  /** Sign once this many events were sealed since the last checkpoint... */
  everyEvents: number;
  /** ...or once this long passed since it, if anything new was sealed. */
  everyMs: number;
}

/** What one `sealBatch` did. */
export interface SealResult {
  /** How many events it placed in the chain (`SEAL_BATCH` at most: a full batch means more wait). */
  sealed: number;
  /** The chain's head after the batch; null while nothing is sealed. */
  head: { seq: number; hash: string } | null;
  /** The checkpoint it signed, if one was due. */
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

/** Events hashed between two turns of the event loop, so a large batch never blocks it long. */
const HASH_SLICE = 32;

/**
 * Everything a batch needs to know, in one statement (one snapshot, one round trip): the chain's
 * head and the hash of the event before it (to check they are linked), the last checkpoint and
 * its age, whether seq 1 was sealed at least `everySecs` ago, and up to `limit` pending events in
 * id order. The state is repeated in every row, and has a row of its own (with a null `id`) when
 * nothing is pending. `data` stays JSON text here: it is parsed while hashing, once.
 */
const sealerView = sql`(
  SELECT h.seq AS head_seq, h.hash AS head_hash, h.prev_hash AS head_prev_hash, h.before_hash,
    c.seq AS checkpoint_seq, extract(epoch FROM now() - c.created_at) * 1000 AS checkpoint_age_ms,
    (SELECT f.sealed_at <= now() - make_interval(secs => ${sql.placeholder('everySecs')}) FROM audit_events f WHERE f.seq = 1) AS first_old,
    p.*
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (
    SELECT x.seq, x.hash, x.prev_hash, (SELECT b.hash FROM audit_events b WHERE b.seq = x.seq - 1) AS before_hash
    FROM audit_events x WHERE x.seq IS NOT NULL ORDER BY x.seq DESC LIMIT 1
  ) AS h ON true
  LEFT JOIN LATERAL (SELECT seq, created_at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) AS c ON true
  LEFT JOIN LATERAL (
    SELECT ${chainedColumns.id} AS id, ${chainedColumns.type} AS type, ${chainedColumns.actorId} AS actor_id,
      ${chainedColumns.requestId} AS request_id, ${chainedColumns.data} AS data, ${chainedColumns.createdAt} AS created_at
    FROM audit_events WHERE audit_events.seq IS NULL ORDER BY audit_events.id LIMIT ${sql.placeholder('limit')}
  ) AS p ON true
) AS v`;

const sealerViewColumns = {
  headSeq: sql<number | null>`v.head_seq`.mapWith(Number),
  headHash: sql<string | null>`v.head_hash`,
  headPrevHash: sql<string | null>`v.head_prev_hash`,
  /** The hash of the event at `headSeq - 1`; null when there is none. */
  beforeHash: sql<string | null>`v.before_hash`,
  checkpointSeq: sql<number | null>`v.checkpoint_seq`.mapWith(Number),
  checkpointAgeMs: sql<number | null>`v.checkpoint_age_ms`.mapWith(Number),
  /** Null while nothing is sealed. */
  firstOld: sql<boolean | null>`v.first_old`,
  /** The pending event's chained columns; null when nothing is pending. */
  id: sql<number | null>`v.id`.mapWith(Number),
  type: sql<string>`v.type`,
  actorId: sql<string | null>`v.actor_id`,
  requestId: sql<string | null>`v.request_id`,
  data: sql<string>`v.data`,
  createdAt: sql<string>`v.created_at`,
};

type SealerState = Pick<
  Awaited<ReturnType<typeof readSealerView>>[number],
  'headSeq' | 'headPrevHash' | 'beforeHash' | 'checkpointSeq' | 'checkpointAgeMs' | 'firstOld'
>;

/**
 * The sealer's two statements are named prepared statements (on node-postgres; PGlite ignores
 * the names): PostgreSQL parses and plans each once per connection instead of at every tick, which
 * was most of the database's work for a small batch.
 */
function readSealerView(tx: Executor, limit: number, everyMs: number) {
  return tx
    .select(sealerViewColumns)
    .from(sealerView)
    .orderBy(sql`v.id`)
    .prepare('greenlight_audit_sealer_view')
    .execute({ limit, everySecs: everyMs / 1_000 });
}

/** Gives the events `ids` their places in one UPDATE; returns the rows placed (all of them, unless another sealer got there first). */
function placeEvents(tx: Executor, places: { ids: number[]; seqs: number[]; prevHashes: string[]; hashes: string[] }) {
  return tx
    .update(auditEvents)
    .set({ seq: sql`v.seq`, prevHash: sql`v.prev_hash`, hash: sql`v.hash`, sealedAt: sql`now()` })
    .from(
      sql`unnest(${sql.placeholder('ids')}::bigint[], ${sql.placeholder('seqs')}::bigint[], ${sql.placeholder('prevHashes')}::text[], ${sql.placeholder('hashes')}::text[])
        AS v(id, seq, prev_hash, hash)`,
    )
    .where(sql`${auditEvents.id} = v.id AND ${auditEvents.seq} IS NULL`)
    .returning({ id: auditEvents.id })
    .prepare('greenlight_audit_sealer_place')
    .execute(places);
}

/**
 * Seals one batch: the committed events that have no `seq` yet, in id order, get the next
 * places in the chain, and a checkpoint is signed when the policy says it is due. One
 * transaction. Events of transactions still open are invisible here and are sealed by a later
 * batch, after the ones committed before them: `seq` is the order events became durable, which
 * is why the chain never waits for a slow writer and never has a gap. Only the elected sealer
 * calls this (see `startSealer`); should two ever race, the unique `seq` makes one of them fail
 * and roll back.
 *
 * It inserts no audit events: live delivery does not wait for its transaction (see
 * `SEALER_APPLICATION_NAME`). So it takes a database, not a transaction: inside another
 * transaction the name would cover that whole transaction, events it appends included.
 *
 * It runs on the event loop that serves requests, so it is kept cheap: one statement reads the
 * state and the pending events, one UPDATE with four array parameters (whatever the batch size)
 * places them, a checkpoint is inserted only when due, and hashing yields to the event loop every
 * `HASH_SLICE` events.
 */
export async function sealBatch(db: Database, keyring: AuditKeyring, policy: CheckpointPolicy, limit = SEAL_BATCH): Promise<SealResult> {
  return db.transaction(async (tx) => {
    // Named for this transaction only, so that live delivery does not wait for it (see `settledBelow`).
    await tx.execute(sql`SELECT set_config('application_name', ${SEALER_APPLICATION_NAME}, true)`);
    const rows = await readSealerView(tx, limit, policy.everyMs);
    const state = rows[0]!;
    let head = state.headSeq === null ? null : { seq: state.headSeq, hash: state.headHash! };
    const pending = state.id === null ? [] : rows;
    if (pending.length > 0) {
      if (head) assertHeadLinked(head, state);
      const n = pending.length;
      const places = {
        ids: new Array<number>(n),
        seqs: new Array<number>(n),
        prevHashes: new Array<string>(n),
        hashes: new Array<string>(n),
      };
      let prev = head ?? { seq: 0, hash: GENESIS_HASH };
      for (let i = 0; i < n; i++) {
        if (i > 0 && i % HASH_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        const row = pending[i]!;
        // `data` arrives as its JSON text and is parsed exactly once (see `chainedColumns`).
        const event = {
          id: row.id!,
          type: row.type,
          actorId: row.actorId,
          requestId: row.requestId,
          data: JSON.parse(row.data),
          createdAt: row.createdAt,
        };
        const hash = eventHash(prev.hash, event);
        places.ids[i] = event.id;
        places.seqs[i] = prev.seq + 1;
        places.prevHashes[i] = prev.hash;
        places.hashes[i] = hash;
        prev = { seq: prev.seq + 1, hash };
      }
      const placed = await placeEvents(tx, places);
      if (placed.length !== n) throw new Error('Another sealer sealed some of these events; this batch is rolled back.');
      head = prev;
    }
    const checkpoint = head && checkpointDue(policy, head, state) ? await signCheckpoint(tx, keyring, head) : null;
    return { sealed: pending.length, head, checkpoint };
  });
}

/**
 * The sealer only extends a chain whose head is linked to the event before it: a row smuggled in
 * past the append-only trigger (with a made-up seq) stops sealing loudly instead of being built on.
 */
function assertHeadLinked(head: { seq: number; hash: string }, state: SealerState): void {
  const expected = head.seq === 1 ? GENESIS_HASH : state.beforeHash;
  if (expected === null || state.headPrevHash !== expected) {
    throw new Error(`The audit chain's head (seq ${head.seq}) is not linked to seq ${head.seq - 1}: sealing stops. Run verifyAuditLog.`);
  }
}

/**
 * Whether the policy wants `head` signed: once `everyEvents` were sealed since the last
 * checkpoint, or once `everyMs` passed since it (before the first, since seq 1 was sealed) with
 * anything new sealed. `state` was read at the start of this transaction, so its `now()` is the
 * sealing's.
 */
function checkpointDue(policy: CheckpointPolicy, head: { seq: number; hash: string }, state: SealerState): boolean {
  const since = head.seq - (state.checkpointSeq ?? 0);
  if (since <= 0) return false;
  if (since >= policy.everyEvents) return true;
  if (state.checkpointSeq !== null) return state.checkpointAgeMs! >= policy.everyMs;
  // A head unknown to `state` is this very batch's: seq 1 has `sealed_at = now()`, old enough only for everyMs <= 0.
  return state.headSeq === null ? policy.everyMs <= 0 : state.firstOld === true;
}

async function signCheckpoint(tx: Executor, keyring: AuditKeyring, head: { seq: number; hash: string }): Promise<AuditCheckpointRow> {
  const [checkpoint] = await tx
    .insert(auditCheckpoints)
    .values({ seq: head.seq, hash: head.hash, keyId: keyring.keyId, signature: keyring.sign(head) })
    .returning();
  return checkpoint!;
}

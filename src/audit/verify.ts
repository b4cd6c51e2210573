import { eventHash, GENESIS_HASH, type SealedEvent } from './chain.js';

/** Why the chain is broken at `firstBrokenSeq`. */
export const AuditBreak = {
  /** The event's content no longer matches its hash, or it was rewritten with a new one. */
  MODIFIED: 'MODIFIED',
  /** The event at this place is gone. */
  DELETED: 'DELETED',
  /** The event is intact but not in its place: it is chained to another predecessor. */
  REORDERED: 'REORDERED',
  /** The event was never part of the chain: its successor is chained to its predecessor. */
  INSERTED: 'INSERTED',
  /** A checkpoint's signature does not verify with a trusted key. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
} as const;
export type AuditBreak = (typeof AuditBreak)[keyof typeof AuditBreak];

export interface CheckpointRecord {
  seq: number;
  hash: string;
  keyId: string;
  signature: string;
}

export interface VerificationReport {
  ok: boolean;
  eventsChecked: number;
  checkpointsChecked: number;
  /** The first place the log cannot be vouched for; null when ok. */
  firstBrokenSeq: number | null;
  reason: AuditBreak | null;
  /** What was found there, for people. */
  message: string | null;
  /** The last place checked. */
  lastSeq: number | null;
  /** The last checkpoint that verified; events after it are chained but not yet signed. */
  lastCheckpointSeq: number | null;
}

/** A sealed event reduced to its links, its content already checked against its own hash. */
export interface CheckedEvent {
  seq: number;
  prevHash: string;
  hash: string;
  /** Whether `eventHash(prevHash, content)` equals `hash`. */
  intact: boolean;
}

/** The common part of a chain to check: where it starts, its checkpoints and how to explain a break. */
interface ChainSourceBase {
  /** The checkpoints of the range, in `seq` order. */
  checkpoints: readonly CheckpointRecord[];
  /** Where checking starts, and the hash of the event before it (GENESIS_HASH from seq 1). */
  fromSeq: number;
  prevHash: string;
  /** Whether any event of the log, anywhere, has this hash (used once, to explain a break). */
  hashExists(hash: string): Promise<boolean>;
  /** Whether a checkpoint's signature verifies with a trusted key. */
  verifySignature(checkpoint: CheckpointRecord): boolean;
}

/** A chain given as whole events: `verifyChain` checks each against its own hash. */
export interface ChainSource extends ChainSourceBase {
  /** The sealed events from `fromSeq` on, in `seq` order. */
  events: AsyncIterable<SealedEvent>;
}

/** A chain whose source already checked each event against its own hash (e.g. as it read them). */
export interface CheckedChainSource extends ChainSourceBase {
  /** The checked events from `fromSeq` on, in `seq` order. */
  checkedEvents: AsyncIterable<CheckedEvent>;
}

/** Checks a sealed event against its own hash, keeping only what the chain's links need. */
export function checkEvent(event: SealedEvent): CheckedEvent {
  return { seq: event.seq, prevHash: event.prevHash, hash: event.hash, intact: eventHash(event.prevHash, event) === event.hash };
}

async function* checkEvents(events: AsyncIterable<SealedEvent>): AsyncGenerator<CheckedEvent> {
  for await (const event of events) yield checkEvent(event);
}

/**
 * Recomputes the hash chain over a stream of sealed events and checks every checkpoint in it:
 * the signature with a trusted key, and that the chain still reaches the signed hash. Stops at
 * the first break and names it. The same code checks the database and an exported file.
 *
 * What each tampering looks like: an edited event no longer matches its hash (MODIFIED); a
 * deleted one leaves a gap in `seq` (DELETED); swapped events are each intact but chained to the
 * wrong predecessor (REORDERED); a forged event is skipped by its successor's `prevHash`
 * (INSERTED). An attacker who recomputes every hash after an edit makes the chain consistent
 * again, but it no longer reaches the hash a later checkpoint signed: the break is then reported
 * at the first event after the last checkpoint that still holds (MODIFIED), since no finer
 * evidence is left. Events after the last checkpoint are only as trustworthy as the chain.
 */
export async function verifyChain(source: ChainSource | CheckedChainSource): Promise<VerificationReport> {
  let expectedSeq = source.fromSeq;
  let prevHash = source.prevHash;
  // The hash before that: an event chained to it skipped its predecessor, which was inserted.
  let prevPrevHash: string | null = null;
  let eventsChecked = 0;
  let checkpointsChecked = 0;
  let lastCheckpointSeq: number | null = null;
  let lastSeq: number | null = null;
  const checkpoints = source.checkpoints.filter((c) => c.seq >= source.fromSeq);
  let nextCheckpoint = 0;

  const report = (firstBrokenSeq: number | null, reason: AuditBreak | null, message: string | null): VerificationReport => ({
    ok: reason === null,
    eventsChecked,
    checkpointsChecked,
    firstBrokenSeq,
    reason,
    message,
    lastSeq,
    lastCheckpointSeq,
  });

  const events = 'checkedEvents' in source ? source.checkedEvents : checkEvents(source.events);
  const iterator = events[Symbol.asyncIterator]();
  let lookahead: IteratorResult<CheckedEvent> | null = null;
  const next = async () => {
    const result = lookahead ?? (await iterator.next());
    lookahead = null;
    return result;
  };
  const peek = async () => (lookahead ??= await iterator.next());

  try {
    for (let step = await next(); !step.done; step = await next()) {
      const event = step.value;
      if (event.seq > expectedSeq) return report(expectedSeq, 'DELETED', `No event has seq ${expectedSeq}; seq ${event.seq} comes next.`);
      if (event.seq < expectedSeq)
        return report(event.seq, 'INSERTED', `A second event claims seq ${event.seq}, after seq ${expectedSeq - 1}.`);
      const intact = event.intact;
      const linked = event.prevHash === prevHash;
      if (!intact || !linked) {
        const after = await peek();
        if (!after.done && linked === false && event.prevHash === after.value.hash && intact) {
          return report(
            event.seq,
            'REORDERED',
            `Seq ${event.seq} and seq ${after.value.seq} were swapped: each is intact, chained to the other.`,
          );
        }
        if (!after.done && after.value.prevHash === prevHash && after.value.intact) {
          return report(
            event.seq,
            'INSERTED',
            `Seq ${event.seq} is not part of the chain: seq ${after.value.seq} is chained to seq ${event.seq - 1}.`,
          );
        }
        if (!intact) return report(event.seq, 'MODIFIED', `The content of seq ${event.seq} does not match its hash.`);
        if (event.prevHash === prevPrevHash) {
          return report(
            event.seq - 1,
            'INSERTED',
            `Seq ${event.seq - 1} is not part of the chain: seq ${event.seq} is chained to seq ${event.seq - 2}.`,
          );
        }
        if (await source.hashExists(event.prevHash)) {
          return report(event.seq, 'REORDERED', `Seq ${event.seq} is intact but chained to another event than seq ${event.seq - 1}.`);
        }
        return report(
          event.seq - 1,
          'MODIFIED',
          `Seq ${event.seq - 1} no longer has the hash seq ${event.seq} was chained to: it was rewritten.`,
        );
      }
      while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.seq === event.seq) {
        const checkpoint = checkpoints[nextCheckpoint++]!;
        if (!source.verifySignature(checkpoint)) {
          return report(
            checkpoint.seq,
            'BAD_SIGNATURE',
            `The checkpoint at seq ${checkpoint.seq} is not signed by a trusted key (${checkpoint.keyId}).`,
          );
        }
        if (checkpoint.hash !== event.hash) {
          const from = (lastCheckpointSeq ?? source.fromSeq - 1) + 1;
          return report(
            from,
            'MODIFIED',
            `The chain no longer reaches the hash signed at seq ${checkpoint.seq}: events from seq ${from} to ${checkpoint.seq} were rewritten.`,
          );
        }
        checkpointsChecked++;
        lastCheckpointSeq = checkpoint.seq;
      }
      prevPrevHash = prevHash;
      prevHash = event.hash;
      lastSeq = event.seq;
      expectedSeq = event.seq + 1;
      eventsChecked++;
    }
  } finally {
    await iterator.return?.();
  }
  const beyond = checkpoints[nextCheckpoint];
  if (beyond)
    return report(expectedSeq, 'DELETED', `The checkpoint at seq ${beyond.seq} signed events from seq ${expectedSeq} on that are gone.`);
  return report(null, null, null);
}

export { GENESIS_HASH };

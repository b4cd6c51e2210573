import { sql } from 'drizzle-orm';
import type { DatabaseHandle, DatabaseSession } from '../db/client.js';
import { ADVISORY_LOCKS } from '../db/locks.js';
import type { AuditKeyring } from './keys.js';
import { SEAL_BATCH, sealBatch, type CheckpointPolicy } from './seal.js';

const SEALER_LOCK_KEY = ADVISORY_LOCKS.sealer;

/** An instance's sealer, from `startSealer`. */
export interface Sealer {
  /** True while this instance holds the sealer's lock. */
  isLeader(): boolean;
  /** Stops ticking, waits for the batch under way and closes the connection (releasing the lock). */
  stop(): Promise<void>;
}

/**
 * Runs on every instance; one of them seals. Each tick, an instance that is not the leader tries
 * `pg_try_advisory_lock` on a connection of its own; the one that gets it seals batches on that
 * connection until nothing is left, and keeps the lock (and the job) until it stops or the
 * connection breaks, when the lock is released by PostgreSQL and another instance takes over at
 * its next tick. With PGlite there is one connection and one instance: it is always the leader.
 */
export function startSealer(
  database: Pick<DatabaseHandle, 'openSession'>,
  keyring: AuditKeyring,
  options: CheckpointPolicy & { intervalMs: number },
  onError: (error: unknown) => void,
): Sealer {
  let session: DatabaseSession | null = null;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const resign = async () => {
    leader = false;
    const closing = session;
    session = null;
    await closing?.close().catch(() => undefined);
  };

  const tick = async () => {
    try {
      session ??= await database.openSession();
      if (!leader) {
        const result = (await session.db.execute(sql`SELECT pg_try_advisory_lock(${SEALER_LOCK_KEY}) AS locked`)) as unknown as {
          rows: { locked: boolean }[];
        };
        const [row] = result.rows;
        leader = row?.locked === true;
      }
      while (leader && !stopped && (await sealBatch(session.db, keyring, options)).sealed === SEAL_BATCH) {
        // A full batch: more are waiting.
      }
    } catch (error) {
      // A broken connection loses the lock with it: start again from a fresh one.
      await resign();
      if (!stopped) onError(error);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().then(schedule);
    }, options.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await resign();
    },
  };
}

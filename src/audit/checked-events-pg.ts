import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import type { Executor } from '../db/client.js';
import { readCheckedChunk, type CheckedChunk } from './chain-reader.js';
import type { ReaderAnswer, ReaderRequest } from './chain-reader-worker.js';
import type { CheckedEvent } from './verify.js';

/**
 * The verifier's reading on node-postgres. Every event's check uses its own stored `prevHash`, so
 * the log is read and hashed in chunks of READ_CHUNK places by several readers at once, each on
 * its own connection: this thread and reader threads (one per other core). Only linking the
 * chain, in `verifyChain`, is done in order, here.
 */

/** How many places of the chain one read covers, by default. */
const READ_CHUNK = 10_000;
/** Chunks asked for ahead, per reader. */
const AHEAD = 2;

/** Reads and checks the events with `after < seq <= until`, at most `limit`. */
interface ChainReader {
  read(after: number, until: number, limit: number): Promise<CheckedChunk>;
  /** Ends its connection and thread, if it has them; call once its reads are settled. */
  close(): Promise<void>;
}

/** The node-postgres pool or client under `db`; null for PGlite and inside a transaction. */
export function nodePostgresOf(db: Executor): pg.Pool | pg.Client | null {
  const client = (db as { $client?: unknown }).$client;
  return client instanceof pg.Pool || client instanceof pg.Client ? client : null;
}

/** How many reader threads to start beside this thread: one per other core, at most 3. */
export function defaultReaderThreads(): number {
  return Math.max(0, Math.min(3, availableParallelism() - 1));
}

// Plain JavaScript that registers tsx in the thread, then loads chain-reader-worker.ts.
const READER_THREAD = import.meta.url.endsWith('.ts')
  ? new URL('./chain-reader-boot.mjs', import.meta.url)
  : // Compiled (lib/): the worker is JavaScript already.
    new URL('./chain-reader-worker.js', import.meta.url);

/** A reader thread with a connection of its own to `connectionString`. */
function startChainReader(connectionString: string): ChainReader {
  // Nothing inherited from this process's command line: the thread loads tsx itself.
  const worker = new Worker(READER_THREAD, { workerData: { connectionString }, execArgv: [] });
  const waiting = new Map<number, { resolve: (chunk: CheckedChunk) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };
  worker.on('message', (answer: ReaderAnswer) => {
    const waiter = waiting.get(answer.id);
    waiting.delete(answer.id);
    if ('chunk' in answer) waiter?.resolve(answer.chunk);
    else waiter?.reject(new Error(answer.error));
  });
  worker.on('error', fail);
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      fail(new Error(`An audit reader thread stopped (exit code ${code}).`));
      resolve();
    }),
  );
  return {
    read(after, until, limit) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      const chunk = new Promise<CheckedChunk>((resolve, reject) => waiting.set(id, { resolve, reject }));
      worker.postMessage({ id, after, until, limit } satisfies ReaderRequest);
      return chunk;
    },
    async close() {
      worker.postMessage('close' satisfies ReaderRequest);
      await exited;
    },
  };
}

function* eventsOf(chunk: CheckedChunk): Generator<CheckedEvent> {
  for (let i = 0; i < chunk.seqs.length; i++) {
    yield { seq: chunk.seqs[i]!, prevHash: chunk.prevHashes[i]!, hash: chunk.hashes[i]!, intact: chunk.intact[i]! };
  }
}

/** What to read: `fromSeq` to `toSeq`, then (`openEnded`) whatever was sealed after `toSeq` meanwhile. */
export interface ReadRange {
  fromSeq: number;
  toSeq: number;
  openEnded: boolean;
}

/** How `checkedEventsPg` reads. */
export interface ReadOptions {
  /** Reader threads beside this thread (used with a pool configured by connection string only). */
  threads: number;
  /** Places of the chain per read (default READ_CHUNK). */
  chunkEvents?: number | undefined;
}

/**
 * The sealed events of `range` from the database behind `pool`, each checked against its own hash,
 * in `seq` order. While the places are gap-free (as in an intact log), the range is cut into
 * chunks of places handed out to this thread and the reader threads in turn, and taken back in
 * order. From the first gap on (a broken log, with maybe a smuggled seq far ahead), reading goes
 * on here, a chunk of rows after another, as `verifyChain` needs only what comes before the break.
 */
export async function* checkedEventsPg(pool: pg.Pool | pg.Client, range: ReadRange, options: ReadOptions): AsyncGenerator<CheckedEvent> {
  const size = options.chunkEvents ?? READ_CHUNK;
  const pooled = pool instanceof pg.Pool ? await pool.connect() : null;
  const client = pooled ?? (pool as pg.Client);
  const here: ChainReader = { read: (after, until, limit) => readCheckedChunk(client, after, until, limit), close: async () => {} };
  const connectionString = pool instanceof pg.Pool ? pool.options.connectionString : undefined;
  const readers = [here, ...Array.from({ length: connectionString ? options.threads : 0 }, () => startChainReader(connectionString!))];
  const pending: { places: number; chunk: Promise<CheckedChunk> }[] = [];
  let failed = false;
  let gapFree = true;
  let planned = range.fromSeq - 1;
  let turn = 0;
  const askAhead = () => {
    while (gapFree && pending.length < AHEAD * readers.length && planned < range.toSeq) {
      const until = Math.min(planned + size, range.toSeq);
      const chunk = readers[turn++ % readers.length]!.read(planned, until, size);
      // It may fail before its turn to be awaited: not an unhandled rejection.
      chunk.catch(() => {});
      pending.push({ places: until - planned, chunk });
      planned = until;
    }
  };
  try {
    askAhead();
    while (pending.length > 0) {
      const { places, chunk } = pending.shift()!;
      const checked = await chunk;
      gapFree &&= checked.seqs.length === places;
      askAhead();
      yield* eventsOf(checked);
    }
    // After a gap, the rest of the range; open-ended, what was sealed since the head was read.
    const last = range.openEnded ? Number.MAX_SAFE_INTEGER : range.toSeq;
    for (let after = planned; after < last;) {
      const checked = await here.read(after, last, size);
      yield* eventsOf(checked);
      if (checked.seqs.length < size) break;
      after = checked.seqs.at(-1)!;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // Stopped early or failed: the reads under way end before their connections do.
    await Promise.allSettled(pending.map((p) => p.chunk));
    await Promise.all(readers.map((reader) => reader.close()));
    // A connection whose query failed is not handed to anyone else.
    pooled?.release(failed);
  }
}

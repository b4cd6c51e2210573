import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { readCheckedChunk, type CheckedChunk } from './chain-reader.js';

/**
 * A reader thread of `verifyAuditLog` (see `startChainReader`): on a connection of its own, it
 * reads and checks the chunks it is asked for, in the order asked, and answers each with its
 * links. `close` ends the connection and lets the thread exit.
 */

/** A request to the thread. */
export type ReaderRequest = { id: number; after: number; until: number; limit: number } | 'close';
/** The thread's answer to a chunk request. */
export type ReaderAnswer = { id: number; chunk: CheckedChunk } | { id: number; error: string };

const port = parentPort!;
const client = new pg.Client({ connectionString: (workerData as { connectionString: string }).connectionString });
// A lost connection fails the query in progress, which is answered with the error.
client.on('error', () => {});
const connected = client.connect();
connected.catch(() => {});

port.on('message', async (request: ReaderRequest) => {
  if (request === 'close') {
    await client.end().catch(() => {});
    port.close();
    return;
  }
  try {
    await connected;
    const chunk = await readCheckedChunk(client, request.after, request.until, request.limit);
    port.postMessage({ id: request.id, chunk } satisfies ReaderAnswer);
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies ReaderAnswer);
  }
});

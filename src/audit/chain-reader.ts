import { and, asc, gt, lte } from 'drizzle-orm';
import { QueryBuilder } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { auditEvents } from '../db/schema.js';
import { eventHash } from './chain.js';
import { sealedColumns } from './seal.js';

/**
 * Reads a chunk of the sealed log on a node-postgres connection and checks each event against its
 * own hash as its row arrives, while the database keeps sending: only the chain's links of the
 * chunk are kept. (Drizzle's reading kept a chunk's rows and their parsed `data` alive until the
 * whole chunk was in, and moving them from one garbage-collector generation to the next took
 * longer than hashing them.) Used on the main thread and on reader threads alike.
 */

/** The links of a chunk's events, in `seq` order: `intact[i]` tells whether event i hashes to `hashes[i]`. */
export interface CheckedChunk {
  seqs: number[];
  prevHashes: string[];
  hashes: string[];
  intact: boolean[];
}

/** Every value as PostgreSQL's text, unparsed: `data` is parsed here, as the row arrives. */
const AS_TEXT = { getTypeParser: () => (value: string) => value };

/** The columns read, in this order (see `readCheckedChunk`). */
const columns = {
  id: sealedColumns.id,
  type: sealedColumns.type,
  actorId: sealedColumns.actorId,
  requestId: sealedColumns.requestId,
  data: sealedColumns.data,
  createdAt: sealedColumns.createdAt,
  seq: sealedColumns.seq,
  prevHash: sealedColumns.prevHash,
  hash: sealedColumns.hash,
};
type TextRow = [string, string, string | null, string | null, string, string, string, string, string];

const queries = new QueryBuilder();

/** The events with `after < seq <= until`, at most `limit` of them, checked as they arrive. */
export function readCheckedChunk(client: pg.ClientBase, after: number, until: number, limit: number): Promise<CheckedChunk> {
  const query = queries
    .select(columns)
    .from(auditEvents)
    .where(and(gt(auditEvents.seq, after), lte(auditEvents.seq, until)))
    .orderBy(asc(auditEvents.seq))
    .limit(limit)
    .toSQL();
  const chunk: CheckedChunk = { seqs: [], prevHashes: [], hashes: [], intact: [] };
  return new Promise((resolve, reject) => {
    let failure: unknown = null;
    const config: pg.QueryArrayConfig = { text: query.sql, values: query.params, rowMode: 'array', types: AS_TEXT };
    const reading = new pg.Query(config);
    reading.on('row', ([id, type, actorId, requestId, data, createdAt, seq, prevHash, hash]: TextRow) => {
      if (failure !== null) return;
      try {
        // `data` arrives as its JSON text (see `chainedColumns`): parsed once, as the sealer does.
        const event = { id: Number(id), type, actorId, requestId, data: JSON.parse(data), createdAt };
        chunk.seqs.push(Number(seq));
        chunk.prevHashes.push(prevHash);
        chunk.hashes.push(hash);
        chunk.intact.push(eventHash(prevHash, event) === hash);
      } catch (error) {
        // Thrown from here, it would break the connection's reader: reported once the query ends.
        failure = error;
      }
    });
    reading.on('error', reject);
    reading.on('end', () => (failure === null ? resolve(chunk) : reject(failure)));
    client.query(reading);
  });
}

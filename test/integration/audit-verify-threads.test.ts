import { asc, sql, type SQL } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { eventHash } from '../../src/audit/chain.js';
import { verifyAuditLog } from '../../src/audit/verify-log.js';
import { auditCheckpoints } from '../../src/db/schema.js';
import { onPostgres } from '../support/database.js';
import { sealedChain, startSealedLog, tamper } from '../support/audit-log.js';

// On PostgreSQL, a long log is read and hashed by reader threads beside the main thread, each on
// a connection of its own, chunk by chunk. Tiny chunks (3 places) make a short log go through
// them: every break must be named exactly as when one thread reads it all. PGlite has no reader
// threads: there, the same cases show the options are harmless.

const THREADED = { readerThreads: 2, chunkEvents: 3 };
const ONE_THREAD = { readerThreads: 0 };

let running: { stop(): Promise<void> } | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function sealedLog(): Promise<App> {
  const test = await startSealedLog();
  running = test;
  return test.app;
}

/**
 * The report with reader threads, once checked to be the one-thread report and the report of
 * drizzle's reading (which a transaction gets: it has no pool of its own).
 */
async function verifyThreaded(app: App, range: { from?: number; to?: number } = {}) {
  const threaded = await verifyAuditLog(app.deps.db, app.deps.auditKeys, range, THREADED);
  expect(threaded).toEqual(await verifyAuditLog(app.deps.db, app.deps.auditKeys, range, ONE_THREAD));
  expect(threaded).toEqual(await app.deps.db.transaction((tx) => verifyAuditLog(tx, app.deps.auditKeys, range)));
  return threaded;
}

const chain = sealedChain;

describe(`verifyAuditLog with reader threads (${onPostgres ? 'PostgreSQL' : 'PGlite: no threads'})`, () => {
  it('checks every event and checkpoint of an intact log, and of a range', async () => {
    const app = await sealedLog();
    const rows = await chain(app);
    const checkpoints = await app.deps.db.select().from(auditCheckpoints);
    expect(await verifyThreaded(app)).toMatchObject({
      ok: true,
      eventsChecked: rows.length,
      checkpointsChecked: checkpoints.length,
      lastSeq: rows.length,
    });
    expect(await verifyThreaded(app, { from: 4, to: 9 })).toMatchObject({ ok: true, eventsChecked: 6, fromSeq: 4, toSeq: 9 });
  });
});

// On PGlite the same cases check that the options change nothing (there is one reading path there).
describe(`verifyAuditLog with reader threads names the first broken seq (${onPostgres ? 'PostgreSQL' : 'PGlite: one path'})`, () => {
  it('names an edit, far from the chunks the threads are reading', async () => {
    const app = await sealedLog();
    await tamper(app, sql`UPDATE audit_events SET data = jsonb_set(data, '{name}', '"mallory"') WHERE seq = 2`);
    expect(await verifyThreaded(app)).toMatchObject({ ok: false, firstBrokenSeq: 2, reason: 'MODIFIED', eventsChecked: 1 });
  });

  it('names a deleted chunk (a whole read finds nothing)', async () => {
    const app = await sealedLog();
    await tamper(app, sql`DELETE FROM audit_events WHERE seq BETWEEN 4 AND 6`);
    expect(await verifyThreaded(app)).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: 'DELETED' });
  });

  it('names a gap up to a row smuggled in far ahead, reading no empty chunk in between', async () => {
    const app = await sealedLog();
    const rows = await chain(app);
    await tamper(
      app,
      sql`INSERT INTO audit_events (type, data, seq, prev_hash, hash, sealed_at) VALUES ('PRINCIPAL_CREATED', '{}', 1000000000000, 'x', 'y', now())`,
    );
    expect(await verifyThreaded(app)).toMatchObject({ ok: false, firstBrokenSeq: rows.length + 1, reason: 'DELETED' });
  });

  it('names a swap across two chunks', async () => {
    const app = await sealedLog();
    await tamper(
      app,
      sql`UPDATE audit_events SET seq = -1 WHERE seq = 6`,
      sql`UPDATE audit_events SET seq = 6 WHERE seq = 7`,
      sql`UPDATE audit_events SET seq = 7 WHERE seq = -1`,
    );
    expect(await verifyThreaded(app)).toMatchObject({ ok: false, firstBrokenSeq: 6, reason: 'REORDERED' });
  });

  it('names a forged event at the start of a chunk', async () => {
    const app = await sealedLog();
    const rows = await chain(app);
    const forged = {
      id: 999_999,
      type: 'PRINCIPAL_CREATED',
      actorId: null,
      requestId: null,
      data: { name: 'backdoor' },
      createdAt: rows[8]!.createdAt,
    };
    await tamper(
      app,
      sql`UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 10`,
      sql`UPDATE audit_events SET seq = -seq WHERE seq < 0`,
      sql`INSERT INTO audit_events (id, type, data, created_at, seq, prev_hash, hash)
          OVERRIDING SYSTEM VALUE VALUES (999999, 'PRINCIPAL_CREATED', '{"name":"backdoor"}', ${rows[8]!.createdAt}::timestamptz, 10, ${rows[8]!.hash}, ${eventHash(rows[8]!.hash, forged)})`,
    );
    expect(await verifyThreaded(app)).toMatchObject({ ok: false, firstBrokenSeq: 10, reason: 'INSERTED' });
  });

  it('names a chain rewritten after a checkpoint to hide an edit', async () => {
    const app = await sealedLog();
    const [first] = await app.deps.db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq)).limit(1);
    const rows = await chain(app);
    const statements: SQL[] = [sql`UPDATE audit_events SET data = jsonb_set(data, '{name}', '"mallory"') WHERE seq = ${first!.seq + 1}`];
    let prev = rows[first!.seq - 1]!.hash;
    for (const row of rows.slice(first!.seq)) {
      const hash = eventHash(prev, row.seq === first!.seq + 1 ? { ...row, data: { ...row.data, name: 'mallory' } } : row);
      statements.push(sql`UPDATE audit_events SET prev_hash = ${prev}, hash = ${hash} WHERE seq = ${row.seq}`);
      prev = hash;
    }
    await tamper(app, ...statements);
    expect(await verifyThreaded(app)).toMatchObject({
      ok: false,
      firstBrokenSeq: first!.seq + 1,
      reason: 'MODIFIED',
      lastCheckpointSeq: first!.seq,
    });
  });

  it('names data replaced by a JSON string holding the same JSON (it is parsed once, not twice)', async () => {
    const app = await sealedLog();
    await tamper(app, sql`UPDATE audit_events SET data = to_jsonb(data::text) WHERE seq = 8`);
    expect(await verifyThreaded(app)).toMatchObject({ ok: false, firstBrokenSeq: 8, reason: 'MODIFIED' });
  });

  it('names a forged checkpoint signature', async () => {
    const app = await sealedLog();
    const checkpoints = await app.deps.db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq));
    const last = checkpoints.at(-1)!;
    await tamper(app, sql`UPDATE audit_checkpoints SET signature = ${checkpoints[0]!.signature} WHERE seq = ${last.seq}`);
    expect(await verifyThreaded(app)).toMatchObject({ ok: false, firstBrokenSeq: last.seq, reason: 'BAD_SIGNATURE' });
  });
});

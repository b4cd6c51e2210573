import { insertPrincipalAsSystem } from '../support/services.js';
import { asc, count, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { eventHash } from '../../src/audit/chain.js';
import { keyringFor, trustedJwk } from '../../src/audit/keys.js';
import { sealBatch, sealedColumns } from '../../src/audit/seal.js';
import { untrustedSigners, verifyAuditLog } from '../../src/audit/verify-log.js';
import { auditCheckpoints, auditEvents } from '../../src/db/schema.js';
import { SEALER_APPLICATION_NAME } from '../../src/events/log.js';
import { generateKeyPairSync } from 'node:crypto';
import { sealedChain, startSealedLog, tamper, TAMPER_CHECKPOINTS } from '../support/audit-log.js';

// Tampering as a database superuser would: with `session_replication_role = replica` triggers do
// not fire, so the append-only trigger is out of the way and only the chain can tell.

let running: { stop(): Promise<void> } | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

const POLICY = TAMPER_CHECKPOINTS;

async function sealedLog(events = 17): Promise<App> {
  const test = await startSealedLog(events);
  running = test;
  return test.app;
}

/** The database refused the statement with the append-only trigger's error (drizzle wraps it). */
async function expectRefused(statement: Promise<unknown>) {
  const error = (await statement.then(
    () => null,
    (e: unknown) => e,
  )) as (Error & { cause?: Error }) | null;
  expect(error).not.toBeNull();
  expect(error!.cause?.message ?? error!.message).toMatch(/audit (events|checkpoints) are append-only/);
}

const chain = sealedChain;

async function verify(app: App) {
  return verifyAuditLog(app.deps.db, app.deps.auditKeys);
}

describe('sealing', () => {
  it('gives committed events gap-free places and signed checkpoints, and the chain verifies', async () => {
    const app = await sealedLog();
    const rows = await chain(app);
    const [unsealed] = await app.deps.db.select({ n: count() }).from(auditEvents).where(isNull(auditEvents.seq));
    expect(unsealed!.n).toBe(0);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    rows.forEach((row, i) => {
      expect(row.prevHash).toBe(i === 0 ? '0'.repeat(64) : rows[i - 1]!.hash);
      expect(row.hash).toBe(eventHash(row.prevHash, row));
    });
    const checkpoints = await app.deps.db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq));
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    for (const checkpoint of checkpoints) {
      expect(checkpoint.hash).toBe(rows[checkpoint.seq - 1]!.hash);
      expect(app.deps.auditKeys.verify(checkpoint)).toBe(true);
    }
    expect(await verify(app)).toMatchObject({
      ok: true,
      eventsChecked: rows.length,
      checkpointsChecked: checkpoints.length,
      firstBrokenSeq: null,
      lastSeq: rows.length,
      unsealedEvents: 0,
    });
    // A range trusts the stored hash before it.
    expect(await verifyAuditLog(app.deps.db, app.deps.auditKeys, { from: 4, to: 9 })).toMatchObject({
      ok: true,
      eventsChecked: 6,
      fromSeq: 4,
      toSeq: 9,
    });
  });

  it('refuses the application any UPDATE or DELETE of audit rows and checkpoints, sealed or not', async () => {
    const app = await sealedLog(6);
    await insertPrincipalAsSystem(app.deps, { kind: 'AGENT', name: 'unsealed', roles: ['AGENT'] });
    const [checkpoints] = await app.deps.db.select({ n: count() }).from(auditCheckpoints);
    expect(checkpoints!.n).toBeGreaterThan(0);
    const attempts = [
      sql`UPDATE audit_events SET data = '{}'::jsonb WHERE seq = 1`,
      sql`UPDATE audit_events SET hash = repeat('0', 64) WHERE seq = 1`,
      sql`UPDATE audit_events SET data = '{}'::jsonb WHERE seq IS NULL`,
      sql`DELETE FROM audit_events WHERE seq = 1`,
      sql`DELETE FROM audit_events WHERE seq IS NULL`,
      sql`TRUNCATE audit_events CASCADE`,
      sql`UPDATE audit_checkpoints SET hash = 'x'`,
      sql`DELETE FROM audit_checkpoints`,
      sql`INSERT INTO audit_events (type, data, seq, prev_hash, hash, sealed_at) VALUES ('PRINCIPAL_CREATED', '{}', 999, 'x', 'y', now())`,
    ];
    for (const attempt of attempts) await expectRefused(app.deps.db.execute(attempt));
    expect((await verify(app)).ok).toBe(true);
  });
});

describe('verifyAuditLog names the first broken seq', () => {
  it('when a field was updated', async () => {
    const app = await sealedLog();
    await tamper(app, sql`UPDATE audit_events SET data = jsonb_set(data, '{name}', '"mallory"') WHERE seq = 7`);
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: 7, reason: 'MODIFIED', eventsChecked: 6 });
  });

  it('when data was replaced by a JSON string holding the same JSON (found in review: a double parse once hid it)', async () => {
    const app = await sealedLog();
    await tamper(app, sql`UPDATE audit_events SET data = to_jsonb(data::text) WHERE seq = 5`);
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: 5, reason: 'MODIFIED', eventsChecked: 4 });
  });

  it('when a row was deleted', async () => {
    const app = await sealedLog();
    await tamper(app, sql`DELETE FROM audit_events WHERE seq = 9`);
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: 9, reason: 'DELETED' });
  });

  it('when the newest rows were deleted (the last checkpoint still names them)', async () => {
    const app = await sealedLog();
    const [last] = await app.deps.db
      .select({ seq: auditCheckpoints.seq })
      .from(auditCheckpoints)
      .orderBy(sql`seq DESC`)
      .limit(1);
    await tamper(app, sql`DELETE FROM audit_events WHERE seq >= ${last!.seq - 1}`);
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: last!.seq - 1, reason: 'DELETED' });
  });

  it('when two rows were swapped', async () => {
    const app = await sealedLog();
    await tamper(
      app,
      sql`UPDATE audit_events SET seq = -1 WHERE seq = 5`,
      sql`UPDATE audit_events SET seq = 5 WHERE seq = 6`,
      sql`UPDATE audit_events SET seq = 6 WHERE seq = -1`,
    );
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: 5, reason: 'REORDERED' });
  });

  it('when two distant rows were swapped', async () => {
    const app = await sealedLog();
    await tamper(
      app,
      sql`UPDATE audit_events SET seq = -1 WHERE seq = 3`,
      sql`UPDATE audit_events SET seq = 3 WHERE seq = 11`,
      sql`UPDATE audit_events SET seq = 11 WHERE seq = -1`,
    );
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: 'REORDERED' });
  });

  it('when a forged row was inserted, even with a correctly computed hash', async () => {
    const app = await sealedLog();
    const rows = await chain(app);
    const forged = {
      id: 999_999,
      type: 'PRINCIPAL_CREATED',
      actorId: null,
      requestId: null,
      data: { name: 'backdoor' },
      createdAt: rows[7]!.createdAt,
    };
    const hash = eventHash(rows[7]!.hash, forged);
    await tamper(
      app,
      // Make room at seq 9 by moving every later row up one.
      sql`UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 9`,
      sql`UPDATE audit_events SET seq = -seq WHERE seq < 0`,
      sql`INSERT INTO audit_events (id, type, data, created_at, seq, prev_hash, hash)
          OVERRIDING SYSTEM VALUE VALUES (999999, 'PRINCIPAL_CREATED', '{"name":"backdoor"}', ${rows[7]!.createdAt}::timestamptz, 9, ${rows[7]!.hash}, ${hash})`,
    );
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: 9, reason: 'INSERTED' });
  });

  it('when the whole chain after a checkpoint was rewritten to hide an edit', async () => {
    const app = await sealedLog();
    const checkpoints = await app.deps.db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq));
    const first = checkpoints[0]!.seq;
    // Edit the first event after the first checkpoint and recompute every hash from there on.
    const rows = await chain(app);
    const edited = rows.map((row) => (row.seq === first + 1 ? { ...row, data: { ...row.data, name: 'mallory' } } : row));
    const statements: SQL[] = [sql`UPDATE audit_events SET data = jsonb_set(data, '{name}', '"mallory"') WHERE seq = ${first + 1}`];
    let prev = rows[first - 1]!.hash;
    for (const row of edited.slice(first)) {
      const hash = eventHash(prev, row);
      statements.push(sql`UPDATE audit_events SET prev_hash = ${prev}, hash = ${hash} WHERE seq = ${row.seq}`);
      prev = hash;
    }
    await tamper(app, ...statements);
    const report = await verify(app);
    expect(report).toMatchObject({ ok: false, firstBrokenSeq: first + 1, reason: 'MODIFIED', lastCheckpointSeq: first });
    expect(report.message).toMatch(/rewritten/);
  });

  it('when an event was rewritten with a fresh hash and its successor left alone', async () => {
    const app = await sealedLog();
    const rows = await chain(app);
    const row = { ...rows[3]!, data: { ...rows[3]!.data, name: 'mallory' } };
    await tamper(
      app,
      sql`UPDATE audit_events SET data = jsonb_set(data, '{name}', '"mallory"'), hash = ${eventHash(row.prevHash, row)} WHERE seq = 4`,
    );
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: 'MODIFIED' });
  });

  it('when a checkpoint signature is forged', async () => {
    const app = await sealedLog();
    const [checkpoint] = await app.deps.db.select().from(auditCheckpoints).orderBy(asc(auditCheckpoints.seq)).limit(1);
    const impostor = keyringFor(generateKeyPairSync('ed25519').privateKey);
    await tamper(app, sql`UPDATE audit_checkpoints SET signature = ${impostor.sign(checkpoint!)} WHERE seq = ${checkpoint!.seq}`);
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: checkpoint!.seq, reason: 'BAD_SIGNATURE' });
  });
});

describe('signing keys', () => {
  it('verifies checkpoints another instance signed only when its key is trusted', async () => {
    const app = await sealedLog(6);
    const other = keyringFor(generateKeyPairSync('ed25519').privateKey);
    for (let i = 0; i < 6; i++) await insertPrincipalAsSystem(app.deps, { kind: 'AGENT', name: `other-${i}`, roles: ['AGENT'] });
    await sealBatch(app.deps.db, other, POLICY);
    const report = await verify(app);
    expect(report).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(await untrustedSigners(app.deps.db, app.deps.auditKeys)).toEqual([other.keyId]);
    const trusting = keyringFor(generateKeyPairSync('ed25519').privateKey, [app.deps.auditKeys.publicJwk, trustedJwk(other.publicJwk)]);
    expect(await verifyAuditLog(app.deps.db, trusting)).toMatchObject({ ok: true });
    expect(await untrustedSigners(app.deps.db, trusting)).toEqual([]);
  });
});

describe('the sealer', () => {
  it('names its transactions, so that live delivery does not wait for them', async () => {
    const app = await sealedLog(1);
    // What the application was called in the transaction that places events (a trigger records it).
    await app.deps.db.execute(sql`CREATE TABLE sealing_sessions (name text)`);
    await app.deps.db.execute(sql`CREATE FUNCTION record_sealing_session() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO sealing_sessions VALUES (current_setting('application_name')); RETURN NULL; END $$`);
    await app.deps.db.execute(
      sql`CREATE TRIGGER record_sealing_session AFTER UPDATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION record_sealing_session()`,
    );
    await insertPrincipalAsSystem(app.deps, { kind: 'AGENT', name: 'to-be-sealed', roles: ['AGENT'] });
    expect((await sealBatch(app.deps.db, app.deps.auditKeys, POLICY)).sealed).toBe(1);
    const names = (await app.deps.db.execute(sql`SELECT name FROM sealing_sessions`)) as unknown as { rows: { name: string }[] };
    expect(names.rows).toEqual([{ name: SEALER_APPLICATION_NAME }]);
    // Only that transaction: the connection goes back to its own name.
    const after = (await app.deps.db.execute(sql`SELECT current_setting('application_name') AS name`)) as unknown as {
      rows: { name: string }[];
    };
    expect(after.rows[0]!.name).not.toBe(SEALER_APPLICATION_NAME);
  });

  it('stops, loudly, rather than build on a head that is not linked to the chain', async () => {
    const app = await sealedLog(3);
    const [head] = await app.deps.db
      .select({ seq: sealedColumns.seq })
      .from(auditEvents)
      .orderBy(sql`seq DESC`)
      .limit(1);
    await tamper(
      app,
      sql`INSERT INTO audit_events (type, data, seq, prev_hash, hash, sealed_at) VALUES ('PRINCIPAL_CREATED', '{}', ${head!.seq + 2}, 'x', 'y', now())`,
    );
    await insertPrincipalAsSystem(app.deps, { kind: 'AGENT', name: 'after-the-smuggled-row', roles: ['AGENT'] });
    await expect(sealBatch(app.deps.db, app.deps.auditKeys, POLICY)).rejects.toThrow(/not linked/);
    expect(await verify(app)).toMatchObject({ ok: false, firstBrokenSeq: head!.seq + 1, reason: 'DELETED' });
  });
});

describe('the stored rows', () => {
  it('keep their content while sealing (the trigger allows sealing columns only, once)', async () => {
    const app = await sealedLog(1);
    const [row] = await app.deps.db.select().from(auditEvents).where(eq(auditEvents.seq, 1));
    expect(row).toMatchObject({ seq: 1, prevHash: '0'.repeat(64) });
    expect(row!.sealedAt).toBeInstanceOf(Date);
    await expectRefused(app.deps.db.execute(sql`UPDATE audit_events SET seq = 99, prev_hash = 'x', hash = 'y' WHERE seq = 1`));
  });
});

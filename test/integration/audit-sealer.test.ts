import { asc, count, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../../src/app.js';
import { startSealer, type Sealer } from '../../src/audit/sealer.js';
import { verifyAuditLog } from '../../src/audit/verify-log.js';
import { ADVISORY_LOCKS } from '../../src/db/locks.js';
import { auditEvents } from '../../src/db/schema.js';
import type { Deps } from '../../src/deps.js';
import { onPostgres } from '../support/database.js';
import { startTestApp, type TestApp, insertPrincipalAsSystem } from '../support/services.js';

// The sealer under load, with two instances on one database. On PostgreSQL they are two apps
// with their own pools and sealer sessions, racing for the advisory lock; PGlite has a single
// connection, so there both sealers share it and take turns.

let test: TestApp;
let a: Pick<App, 'deps' | 'database'>;
let b: Pick<App, 'deps' | 'database'>;
const sealers: Sealer[] = [];
const errors: unknown[] = [];

function sealer(instance: Pick<App, 'deps' | 'database'>): Sealer {
  const started = startSealer(
    instance.database,
    instance.deps.auditKeys,
    { intervalMs: 20, everyEvents: 50, everyMs: 3_600_000 },
    (error) => errors.push(error),
  );
  sealers.push(started);
  return started;
}

async function write(deps: Deps, writers: number, each: number, tag: string) {
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < each; i++) await insertPrincipalAsSystem(deps, { kind: 'AGENT', name: `${tag}-${w}-${i}`, roles: ['AGENT'] });
    }),
  );
}

async function allSealed() {
  await vi.waitFor(
    async () => {
      const [unsealed] = await test.app.deps.db.select({ n: count() }).from(auditEvents).where(isNull(auditEvents.seq));
      expect(unsealed!.n).toBe(0);
    },
    { timeout: 15_000, interval: 25 },
  );
}

async function expectIntactChain() {
  const seqs = (await test.app.deps.db.select({ seq: auditEvents.seq }).from(auditEvents).orderBy(asc(auditEvents.seq))).map((r) => r.seq);
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  const report = await verifyAuditLog(test.app.deps.db, test.app.deps.auditKeys);
  expect(report).toMatchObject({ ok: true, eventsChecked: seqs.length, unsealedEvents: 0 });
  return report;
}

beforeAll(async () => {
  test = await startTestApp();
  a = test.app;
  b = await test.secondApp();
});

afterAll(async () => {
  await Promise.all(sealers.map((s) => s.stop()));
  await test?.stop();
});

describe('the sealer', () => {
  it('seals concurrent writers on two instances without gaps or duplicates, with one leader', async () => {
    const first = sealer(a);
    const second = sealer(b);
    await Promise.all([write(a.deps, 4, 25, 'a'), write(b.deps, 4, 25, 'b')]);
    await allSealed();
    const report = await expectIntactChain();
    expect(report.eventsChecked).toBeGreaterThanOrEqual(200);
    // A checkpoint every 50 events: batches are as large as the backlog, so at least one.
    expect(report.checkpointsChecked).toBeGreaterThanOrEqual(1);
    if (onPostgres) expect([first.isLeader(), second.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('is taken over by the other instance when the leader stops', async () => {
    const [leader, follower] = sealers[0]!.isLeader() ? [sealers[0]!, sealers[1]!] : [sealers[1]!, sealers[0]!];
    await leader.stop();
    await write(b.deps, 2, 10, 'after-stop');
    await allSealed();
    expect(follower.isLeader()).toBe(true);
    await expectIntactChain();
  });

  it('recovers when the leader loses its connection (PostgreSQL: pg_terminate_backend on the lock holder)', async () => {
    sealer(a);
    if (onPostgres) {
      const killed = await test.app.deps.db.execute(sql`
        SELECT pg_terminate_backend(pid) AS killed FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = ${ADVISORY_LOCKS.sealer}
          -- Advisory locks are per database; other test files' sealers hold the same key in theirs.
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      expect((killed as unknown as { rows: unknown[] }).rows).toHaveLength(1);
    }
    await write(a.deps, 2, 10, 'after-kill');
    await allSealed();
    expect(sealers.some((s) => s.isLeader())).toBe(true);
    await expectIntactChain();
    errors.length = 0;
  });
});

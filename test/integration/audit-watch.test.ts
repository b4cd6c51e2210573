import { count, eq, sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { appendAuditEvents } from '../../src/audit/append.js';
import { verifyAuditLog, verifyAuditLogAs } from '../../src/audit/verify-log.js';
import { startAuditWatch } from '../../src/audit/watch.js';
import { auditEvents } from '../../src/db/schema.js';
import type { Periodic } from '../../src/periodic.js';
import { startSealedLog, tamper } from '../support/audit-log.js';
import { insertPrincipalFor } from '../support/services.js';

// The service's own periodic check of its audit log: run by the sealing instance only, and a
// break it finds recorded once as AUDIT_VERIFICATION_FAILED (webhooks: audit.verification_failed).

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.stop();
});

async function tamperedLog(): Promise<App> {
  const test = await startSealedLog(12);
  running.push(test);
  await tamper(test.app, sql`UPDATE audit_events SET data = '{"edited":true}'::jsonb WHERE seq = 5`);
  return test.app;
}

const alarms = async (app: App) =>
  (await app.deps.db.select({ n: count() }).from(auditEvents).where(eq(auditEvents.type, 'AUDIT_VERIFICATION_FAILED')))[0]!.n;

/** Resolves once `isLeader` was asked `times` times: the watch's turns, counted without a clock. */
function turns(times: number, leader: boolean) {
  let asked = 0;
  let done: () => void;
  const reached = new Promise<void>((resolve) => (done = resolve));
  return {
    isLeader: () => {
      asked += 1;
      if (asked === times) done();
      return leader;
    },
    reached,
  };
}

describe('the periodic audit check', () => {
  it('records a break once, however many turns find it', async () => {
    const app = await tamperedLog();
    const watching = turns(4, true);
    const watch: Periodic = startAuditWatch(app.deps, watching.isLeader, 10, (error) => {
      throw error;
    });
    running.push(watch);
    await watching.reached;
    await watch.stop();
    expect(await alarms(app)).toBe(1);
    const [alarm] = await app.deps.db.select().from(auditEvents).where(eq(auditEvents.type, 'AUDIT_VERIFICATION_FAILED'));
    expect(alarm).toMatchObject({ actorId: null, requestId: null });
    expect(alarm!.data).toMatchObject({ checkedById: null, firstBrokenSeq: 5, fromSeq: 1 });
    // A check by someone else finds the same break: nothing new.
    expect(await app.deps.auditAlarm.raise(await verifyAuditLog(app.deps.db, app.deps.auditKeys), null)).toBe(false);
    expect(await alarms(app)).toBe(1);
  });

  it('is left to the sealing instance: another one reads nothing and records nothing', async () => {
    const app = await tamperedLog();
    const watching = turns(3, false);
    const watch = startAuditWatch(app.deps, watching.isLeader, 10, (error) => {
      throw error;
    });
    running.push(watch);
    await watching.reached;
    await watch.stop();
    expect(await alarms(app)).toBe(0);
  });

  it('is not silenced by an alarm row someone wrote into the log, and ranged checks record nothing', async () => {
    const app = await tamperedLog();
    // A forger's "already reported" row, with exactly the data the real alarm would carry.
    await app.deps.db.transaction((tx) =>
      appendAuditEvents(tx, [
        {
          type: 'AUDIT_VERIFICATION_FAILED',
          actorId: null,
          requestId: null,
          data: { checkedById: null, fromSeq: 1, toSeq: 12, firstBrokenSeq: 5, reason: 'MODIFIED', message: null },
        },
      ]),
    );
    const auditor = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Audrey', roles: ['AUDITOR'] });
    // Where a ranged check starts changes the seq it names: it is reported, never recorded.
    for (const from of [2, 3, 4]) expect((await verifyAuditLogAs(app.deps, auditor, { from })).ok).toBe(false);
    expect(await alarms(app)).toBe(1);
    const whole = await verifyAuditLogAs(app.deps, auditor, {});
    expect(whole).toMatchObject({ ok: false, firstBrokenSeq: 5 });
    expect(await alarms(app)).toBe(2);
    const [, real] = await app.deps.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.type, 'AUDIT_VERIFICATION_FAILED'))
      .orderBy(auditEvents.id);
    expect(real).toMatchObject({ actorId: auditor.id, data: { checkedById: auditor.id, firstBrokenSeq: 5 } });
  });

  it('records nothing for an intact log', async () => {
    const test = await startSealedLog(6);
    running.push(test);
    const report = await verifyAuditLog(test.app.deps.db, test.app.deps.auditKeys);
    expect(report.ok).toBe(true);
    expect(await test.app.deps.auditAlarm.raise(report, null)).toBe(false);
    expect(await alarms(test.app)).toBe(0);
  });
});

import { asc, sql, type SQL } from 'drizzle-orm';
import type { App } from '../../src/app.js';
import { sealBatch, sealedColumns } from '../../src/audit/seal.js';
import { auditEvents } from '../../src/db/schema.js';
import { startTestApp, type TestApp, insertPrincipalAsSystem } from './services.js';

/** Checkpoints of the tamper tests' logs: every 5 events (never by time). */
export const TAMPER_CHECKPOINTS = { everyEvents: 5, everyMs: 3_600_000 };

/** A fresh app with `events` more audit events, all sealed in small batches, checkpointed every 5. */
export async function startSealedLog(events = 17): Promise<TestApp> {
  const test = await startTestApp();
  for (let i = 0; i < events; i++) {
    await insertPrincipalAsSystem(test.app.deps, { kind: 'AGENT', name: `bot-${i}`, roles: ['AGENT'], labels: { n: String(i) } });
  }
  while ((await sealBatch(test.app.deps.db, test.app.deps.auditKeys, TAMPER_CHECKPOINTS, 4)).sealed > 0) {
    // Small batches: several transactions, checkpoints in between.
  }
  return test;
}

/**
 * Tampering as a database superuser would: with `session_replication_role = replica` triggers do
 * not fire, so the append-only trigger is out of the way and only the chain can tell.
 */
export async function tamper(app: App, ...statements: SQL[]) {
  await app.deps.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL session_replication_role = replica`);
    for (const statement of statements) await tx.execute(statement);
  });
}

/** The sealed events, in chain order. */
export function sealedChain(app: App) {
  return app.deps.db
    .select(sealedColumns)
    .from(auditEvents)
    .where(sql`${auditEvents.seq} IS NOT NULL`)
    .orderBy(asc(auditEvents.seq));
}

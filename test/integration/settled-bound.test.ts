import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents } from '../../src/audit/append.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/client.js';
import type { AuditEventRow } from '../../src/db/schema.js';
import { readSettled, readSettledLive, settledBelow, START_POSITION } from '../../src/events/log.js';
import { createPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';

// The settled bound is judged inside the statement that reads the log: a transaction the snapshot
// saw running is waited for unless pg_stat_activity shows it belongs elsewhere. A prepared
// (two-phase) transaction is running but belongs to no session, so pg_stat_activity never shows
// it: the case of a transaction that ends between the snapshot and the read of pg_stat_activity,
// held open here for as long as the test needs.

describe('the settled bound, on a private PostgreSQL cluster', () => {
  let cluster: PrivateCluster;
  let database: DatabaseHandle;

  beforeAll(async () => {
    cluster = await createPrivateCluster({ settings: { max_prepared_transactions: 2 } });
    database = createDatabase({ databaseUrl: cluster.url, dataDir: '', pool: { size: 3 } });
    await database.migrate();
  }, 60_000);
  afterAll(async () => {
    await database?.close();
    await cluster?.destroy();
  });

  const rotation = (principalId: string) => ({ type: 'TOKEN_ROTATED' as const, actorId: null, data: { principalId, revokedTokens: 0 } });
  const ids = (events: AuditEventRow[]) => events.map((event) => event.data['principalId']);

  it('waits for a running transaction that no session shows, then delivers its events before later ones', async () => {
    const session = await database.openSession();
    try {
      await session.db.execute(sql`BEGIN`);
      const [prepared] = await appendAuditEvents(session.db, [rotation('prepared')]);
      await session.db.execute(sql`PREPARE TRANSACTION 'greenlight_settled_bound_test'`);
      const [later] = await database.db.transaction((tx) => appendAuditEvents(tx, [rotation('later')]));
      expect(later!.txId).toBeGreaterThan(prepared!.txId);

      // The later event is committed and visible, but a lower transaction may still add events.
      expect(await settledBelow(database.db)).toBeLessThanOrEqual(prepared!.txId);
      for (const read of [readSettledLive(database.db, START_POSITION, 100), readSettled(database.db, START_POSITION, 100)]) {
        const page = await read;
        expect(ids(page.events)).toEqual([]);
        expect(page.held).toBe(true);
      }

      await database.db.execute(sql`COMMIT PREPARED 'greenlight_settled_bound_test'`);
      const page = await readSettledLive(database.db, START_POSITION, 100);
      expect(ids(page.events)).toEqual(['prepared', 'later']);
      expect(page.held).toBe(false);
      expect(ids((await readSettled(database.db, START_POSITION, 100)).events)).toEqual(['prepared', 'later']);
    } finally {
      await database.db.execute(sql`ROLLBACK PREPARED 'greenlight_settled_bound_test'`).catch(() => undefined);
      await session.close();
    }
  });
});

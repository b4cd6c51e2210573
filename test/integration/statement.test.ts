import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { runStatement, type Statement } from '../../src/db/statement.js';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/database.js';

// Statements of this test only, on a table of its own.
const INSERT: Statement = {
  name: 'statement_test_insert',
  text: `INSERT INTO statement_test (id, doc, flag) VALUES ($1::int, $2::jsonb, $3::boolean)
    RETURNING id, doc, flag, to_jsonb(statement_test) AS row`,
};
const COUNT: Statement = { name: 'statement_test_count', text: 'SELECT count(*)::int AS n FROM statement_test' };
const BROKEN: Statement = { name: 'statement_test_broken', text: 'SELECT FROM no_such_table_here' };

describe(`runStatement (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    handle = createDatabase({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir });
    await handle.db.execute(sql`CREATE TABLE statement_test (id int PRIMARY KEY, doc jsonb NOT NULL, flag boolean)`);
  });
  afterAll(async () => {
    await handle.close();
    await testDb.drop();
  });

  const count = async () => (await runStatement<{ n: number }>(handle.db, COUNT, []))[0]!.n;

  it('binds parameters in text form and returns rows as the driver parses them', async () => {
    const rows = await runStatement(handle.db, INSERT, [1, JSON.stringify({ a: [1, 'two'] }), true]);
    expect(rows).toEqual([{ id: 1, doc: { a: [1, 'two'] }, flag: true, row: { id: 1, doc: { a: [1, 'two'] }, flag: true } }]);
    // The same statement again (prepared by the first call), with a null.
    expect(await runStatement(handle.db, INSERT, [2, '{}', null])).toEqual([
      { id: 2, doc: {}, flag: null, row: { id: 2, doc: {}, flag: null } },
    ]);
    expect(await count()).toBe(2);
  });

  it('fails with the database error and its code, writes nothing, and the statement still runs afterwards', async () => {
    const failure = await runStatement(handle.db, INSERT, [1, '{}', false]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain('INSERT INTO statement_test');
    expect(((failure as Error).cause as { code?: string }).code).toBe('23505');
    // A value the cast refuses fails at bind time, after the statement was prepared.
    const badValue = await runStatement(handle.db, INSERT, ['not a number', '{}', false]).catch((error: unknown) => error);
    expect(((badValue as Error).cause as { code?: string }).code).toBe('22P02');
    expect(await count()).toBe(2);
    expect(await runStatement(handle.db, INSERT, [3, '[]', false])).toHaveLength(1);
    expect(await count()).toBe(3);
  });

  it('reports a statement that cannot be prepared, each time it is run, and the others keep working', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const failure = await runStatement(handle.db, BROKEN, []).catch((error: unknown) => error);
      expect(((failure as Error).cause as { code?: string }).code).toBe('42P01');
    }
    expect(await count()).toBe(3);
  });

  it('refuses a parameter it cannot send in text form, before anything runs', async () => {
    await expect(runStatement(handle.db, INSERT, [4, new Date(), false])).rejects.toThrow(/string, number, boolean or null/);
    expect(await count()).toBe(3);
  });
});

// PGlite's own locking, whichever database the rest of the suite runs on.
describe('runStatement on PGlite', () => {
  let pglite: DatabaseHandle;
  beforeAll(async () => {
    pglite = createDatabase({ databaseUrl: undefined, dataDir: 'memory://' });
    await pglite.db.execute(sql`CREATE TABLE statement_test (id int PRIMARY KEY, doc jsonb NOT NULL, flag boolean)`);
    for (const id of [1, 2, 3]) await runStatement(pglite.db, INSERT, [id, '{}', null]);
  });
  afterAll(() => pglite.close());
  const countOn = async (on: DatabaseHandle) => (await runStatement<{ n: number }>(on.db, COUNT, []))[0]!.n;

  it('waits for an open transaction to end instead of running inside it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedInTransaction = new Promise<void>((resolve) => (inserted = resolve));
    const transaction = pglite.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO statement_test (id, doc) VALUES (10, '{}')`);
      inserted();
      await held;
      await tx.execute(sql`INSERT INTO statement_test (id, doc) VALUES (11, '{}')`);
      throw new Error('rolled back on purpose');
    });
    await insertedInTransaction;
    // Issued while the transaction is open, and before its next statement: run inside it, the
    // count would see the uncommitted row 10 (4); queued behind it, only the three rows.
    const counted = countOn(pglite);
    release();
    await expect(transaction).rejects.toThrow('rolled back on purpose');
    expect(await counted).toBe(3);
  });
});

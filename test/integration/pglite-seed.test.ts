import { sql } from 'drizzle-orm';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, SHIPPED_MIGRATIONS } from '../../src/db/client.js';

// A new PGlite data folder starts from the seed `npm install` packs (lib/pglite-seed.tar.gz):
// migrated before `migrate()` runs, and a real database after it, kept across reopening.

const folder = mkdtempSync(join(tmpdir(), 'greenlight-seed-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const appliedMigrations = async (db: ReturnType<typeof createDatabase>['db']) =>
  Number(
    ((await db.execute(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`)) as unknown as { rows: { n: number }[] }).rows[0]!
      .n,
  );

describe('a new PGlite data folder', () => {
  it('is unpacked from the seed, every shipped migration applied, and keeps what is written', async () => {
    expect(existsSync(new URL('../../lib/pglite-seed.tar.gz', import.meta.url)), 'npm install (prepare) builds the seed').toBe(true);
    const dataDir = join(folder, 'data');
    const first = createDatabase({ databaseUrl: undefined, dataDir });
    try {
      expect(await appliedMigrations(first.db)).toBe(SHIPPED_MIGRATIONS);
      await first.migrate();
      await first.db.execute(sql`INSERT INTO server_secrets (name, value) VALUES ('seed-test', 'kept')`);
    } finally {
      await first.close();
    }
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    const again = createDatabase({ databaseUrl: undefined, dataDir });
    try {
      const rows = (await again.db.execute(sql`SELECT value FROM server_secrets WHERE name = 'seed-test'`)) as unknown as {
        rows: unknown[];
      };
      expect(rows.rows).toEqual([{ value: 'kept' }]);
    } finally {
      await again.close();
    }
  });
});

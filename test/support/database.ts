import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A database for one test file. With `DATABASE_URL` set (CI's PostgreSQL run), a fresh database
 * is created on that server and dropped afterwards; otherwise an in-memory PGlite is used.
 */
export interface TestDatabase {
  databaseUrl: string | undefined;
  dataDir: string;
  drop(): Promise<void>;
}

export const onPostgres = Boolean(process.env['DATABASE_URL']);

async function onServer<T>(serverUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env['DATABASE_URL'];
  if (!serverUrl) return { databaseUrl: undefined, dataDir: 'memory://', drop: async () => {} };
  const name = `greenlight_test_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dataDir: 'memory://',
    // FORCE ends connections a failed test may have left open (PostgreSQL 13+).
    drop: () => onServer(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

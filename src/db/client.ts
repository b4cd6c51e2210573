import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { DatabasePoolConfig } from '../config.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { claimDataDir } from './data-dir.js';
import { ADVISORY_LOCKS } from './locks.js';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** The drizzle database, whichever driver is underneath; both speak the same PostgreSQL. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle as passed to `db.transaction(async (tx) => …)`. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Anything queries can run on: the database itself or an open transaction. */
export type Executor = Database | Transaction;

/**
 * The PGlite instance behind `db`, when `db` is PGlite's top-level handle; null on PostgreSQL and
 * for a transaction (drizzle's transaction handles carry no `$client`).
 */
export function pgliteClientOf(db: Executor): PGlite | null {
  const client = (db as { $client?: unknown }).$client;
  return client instanceof PGlite ? client : null;
}

export interface DatabaseHandle {
  db: Database;
  driver: 'pglite' | 'postgres';
  /** Applies the generated migrations in `drizzle/`; safe to call from several instances at once. */
  migrate(): Promise<void>;
  /**
   * One connection of its own, outside the pool, for work that holds session state such as an
   * advisory lock (the audit sealer's leadership). PGlite has a single connection: it is shared.
   */
  openSession(): Promise<DatabaseSession>;
  close(): Promise<void>;
}

export interface DatabaseSession {
  db: Database;
  /** Closes the connection, which also releases its session locks. */
  close(): Promise<void>;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));
const MIGRATION_LOCK_KEY = ADVISORY_LOCKS.migration;

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  /** The node-postgres pool (default: 10 connections, 5 s to get one). */
  pool?: Partial<DatabasePoolConfig>;
  /** Where lost connections are reported (default: a logger of its own on standard output). */
  log?: Logger;
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  if (options.databaseUrl) {
    const pool = { size: 10, acquireTimeoutMs: 5_000, ...options.pool };
    return createPostgres(options.databaseUrl, pool, options.log ?? createLogger());
  }
  return createPglite(options.dataDir);
}

function createPostgres(connectionString: string, settings: DatabasePoolConfig, log: Logger): DatabaseHandle {
  // A checkout that waits too long, for a free connection or for a server that does not answer,
  // fails (callers get UNAVAILABLE) instead of holding requests forever.
  const pool = new pg.Pool({ connectionString, max: settings.size, connectionTimeoutMillis: settings.acquireTimeoutMs });
  // An idle client that loses its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout simply opens a new connection.
  pool.on('error', (error) => log.warn({ scope: 'db', reason: error.message }, 'idle connection lost'));
  // A checked-out client has no pool listener (pg-pool removes it at checkout): a connection lost
  // mid-transaction would emit an unhandled 'error' and crash the process. Its queries fail with
  // the error anyway, and the pool drops the client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = drizzlePg(pool, { schema });
  guardTransactions(db as unknown as Database, pool);
  return {
    db: db as unknown as Database,
    driver: 'postgres',
    async migrate() {
      // Instances starting together must not run the same migration twice; a session advisory
      // lock on one dedicated connection serialises them.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      } finally {
        client.release();
      }
    },
    async openSession() {
      const client = new pg.Client({ connectionString });
      // A dropped session connection must not crash the process; its user sees the next query fail.
      client.on('error', (error) => log.warn({ scope: 'db', reason: error.message }, 'session connection lost'));
      await client.connect();
      return { db: drizzlePg(client, { schema }) as unknown as Database, close: () => client.end() };
    },
    close: () => pool.end(),
  };
}

/**
 * Makes `db.transaction` give its connection back to the pool whatever fails. drizzle-orm's own
 * (0.45) sends BEGIN before its try/finally: when BEGIN fails on a lost connection, the client is
 * never released, the pool leaks it and `pool.end()` waits forever. Here the client is checked
 * out and released around drizzle's transaction over that one client (pg-pool drops a client whose
 * connection broke). One drizzle instance per pooled connection, built on its first transaction.
 */
function guardTransactions(db: Database, pool: pg.Pool): void {
  const overClient = new WeakMap<pg.PoolClient, Database>();
  const transaction: Database['transaction'] = async (run, config) => {
    const client = await pool.connect();
    try {
      let single = overClient.get(client);
      if (!single) {
        single = drizzlePg(client, { schema }) as unknown as Database;
        overClient.set(client, single);
      }
      return await single.transaction(run, config);
    } finally {
      client.release();
    }
  };
  db.transaction = transaction;
}

function createPglite(dataDir: string): DatabaseHandle {
  const memory = dataDir.startsWith('memory://');
  const release = memory ? () => undefined : claimDataDir(dataDir);
  // A new database starts from the seed when there is one: no initdb, migrations already applied.
  const seed = memory || !existsSync(join(dataDir, 'PG_VERSION')) ? pgliteSeed() : undefined;
  const client = new PGlite(dataDir, seed ? { loadDataDir: seed } : {});
  const db = drizzlePglite(client, { schema });
  return {
    db: db as unknown as Database,
    driver: 'pglite',
    // PGlite is one connection in this process: nothing can race the migrator.
    migrate: () => migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    openSession: async () => ({ db: db as unknown as Database, close: async () => {} }),
    close: () => client.close().finally(release),
  };
}

const SEED = fileURLToPath(new URL('../../lib/pglite-seed.tar.gz', import.meta.url));
const SEED_INFO = fileURLToPath(new URL('../../lib/pglite-seed.json', import.meta.url));

/**
 * The data folder `scripts/build-pglite-seed.mjs` packed at install (initdb done, migrations
 * applied), if there is one and the installed PGlite wrote it; else PGlite runs initdb itself.
 */
function pgliteSeed(): Blob | undefined {
  if (!existsSync(SEED) || !existsSync(SEED_INFO)) return undefined;
  const pgliteDir = dirname(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')));
  const installed = (JSON.parse(readFileSync(join(pgliteDir, 'package.json'), 'utf8')) as { version: string }).version;
  const seeded = (JSON.parse(readFileSync(SEED_INFO, 'utf8')) as { pgliteVersion?: string }).pgliteVersion;
  return seeded === installed ? new Blob([readFileSync(SEED)]) : undefined;
}

const JOURNAL = fileURLToPath(new URL('../../drizzle/meta/_journal.json', import.meta.url));
/** The migrations this build ships (drizzle/meta/_journal.json). */
export const SHIPPED_MIGRATIONS: number = (JSON.parse(readFileSync(JOURNAL, 'utf8')) as { entries: unknown[] }).entries.length;

/**
 * Whether the database answers and holds every migration this build ships (the readiness check):
 * null when it does, else the problem in a few words.
 */
export async function databaseProblem(db: Database): Promise<string | null> {
  const result = await db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
  const applied = Number((result as unknown as { rows: { n: number }[] }).rows[0]?.n ?? 0);
  return applied >= SHIPPED_MIGRATIONS ? null : `${SHIPPED_MIGRATIONS - applied} migrations not applied`;
}

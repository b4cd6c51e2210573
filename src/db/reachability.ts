import pg from 'pg';
import { StartupError } from '../config.js';

/** Where a connection string points, without its password: for messages. */
export function describeServer(connectionString: string): { where: string; database: string; user: string } {
  const url = new URL(connectionString);
  return {
    where: `${url.hostname || 'localhost'}:${url.port || '5432'}`,
    database: decodeURIComponent(url.pathname.slice(1)) || url.username || 'postgres',
    user: decodeURIComponent(url.username) || 'the default user',
  };
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;
/** Connection errors that may pass: the server is starting, restarting, or not up yet. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P03']);

/**
 * Waits until PostgreSQL accepts a connection, retrying with backoff for up to `waitMs` while the
 * server refuses connections (it may be starting). Errors that waiting cannot fix (no such
 * database, bad credentials, an unknown host) stop at once. Every failure is one line naming
 * DATABASE_URL, never its password.
 */
export async function waitForDatabase(connectionString: string, waitMs: number): Promise<void> {
  const { where, database, user } = describeServer(connectionString);
  const deadline = performance.now() + waitMs;
  let delay = RETRY_MIN_MS;
  for (;;) {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = (error as { code?: string }).code ?? '';
      if (code === '3D000') {
        throw new StartupError(
          `DATABASE_URL: the database "${database}" does not exist on ${where}; create it (createdb ${database}) or name another.`,
        );
      }
      if (code === '28P01' || code === '28000') throw new StartupError(`DATABASE_URL: ${where} refused the credentials of ${user}.`);
      if (code === 'ENOTFOUND') throw new StartupError(`DATABASE_URL: the host of ${where} is unknown.`);
      if (!TRANSIENT.has(code) || performance.now() + delay > deadline) {
        const waited = waitMs / 1_000;
        throw new StartupError(
          `DATABASE_URL: no PostgreSQL answers at ${where} (${code || 'no answer'}${TRANSIENT.has(code) ? `, waited ${waited} s` : ''}): start it, or fix the address (DATABASE_WAIT_SECONDS sets the wait).`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}

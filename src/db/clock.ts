import { sql } from 'drizzle-orm';
import type { Database } from './client.js';

/**
 * The database's time, as this instance reckons it: its own clock plus the offset to the
 * database's, measured at start-up and again every `DATABASE_CLOCK_SYNC_MS`. Deadlines that SQL
 * judges (expiry, escalation steps, reminders) use `now()` in the database; what an instance must
 * judge in memory (a cached token's expiry, a socket's session, an approval window, a policy's
 * time conditions, an expiry given as input) uses this, so an instance whose clock is off judges
 * as the others do.
 */
export interface DatabaseClock {
  /** The database's time now, estimated here. */
  now(): Date;
  /** Milliseconds to add to this instance's clock to get the database's. */
  offsetMs(): number;
  /** Measures the offset again (one round trip); the last good measure stays if it fails. */
  sync(): Promise<void>;
}

/** How often the offset is measured again: clocks drift, and NTP steps them. */
export const DATABASE_CLOCK_SYNC_MS = 60_000;

export function createDatabaseClock(db: Database): DatabaseClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    offsetMs: () => offset,
    async sync() {
      const sent = Date.now();
      const result = await db.execute<{ ms: number }>(sql`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms`);
      const received = Date.now();
      const databaseMs = Number((result as unknown as { rows: { ms: number }[] }).rows[0]!.ms);
      // The database read its clock about halfway through the round trip.
      offset = Math.round(databaseMs - (sent + received) / 2);
    },
  };
}

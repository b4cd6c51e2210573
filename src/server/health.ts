import { databaseProblem, type DatabaseHandle } from '../db/client.js';
import type { EventHub } from '../events/hub.js';

/** What `/health/ready` reports. */
export interface Readiness {
  ready: boolean;
  /** `ok`, or what is wrong with each part. */
  checks: { database: string; events: string };
}

const DATABASE_CHECK_MS = 2_000; // a readiness probe must answer even when the database does not

/**
 * Ready means: the database answers (within 2 s) and holds every migration this build ships, the
 * event hub reads the log, and on PostgreSQL its LISTEN connection is up (else other instances'
 * changes arrive only with the one-second catch-up read).
 */
export async function checkReadiness(database: Pick<DatabaseHandle, 'db' | 'driver'>, hub: Pick<EventHub, 'health'>): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>(
    (resolve) => (timer = setTimeout(() => resolve('unreachable (no answer in 2 s)'), DATABASE_CHECK_MS)),
  );
  const answer = databaseProblem(database.db).then(
    (problem) => problem ?? 'ok',
    () => 'unreachable',
  );
  const databaseCheck = await Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
  const health = hub.health();
  const events = !health.reading
    ? 'cannot read the event log'
    : database.driver === 'postgres' && !health.listening
      ? 'not listening for other instances'
      : 'ok';
  return { ready: databaseCheck === 'ok' && events === 'ok', checks: { database: databaseCheck, events } };
}

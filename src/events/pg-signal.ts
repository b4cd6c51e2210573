import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { Database } from '../db/client.js';
import type { SignalHandlers, SignalTransport } from './signal.js';

/** The NOTIFY channel every instance listens on. */
export const EVENTS_CHANNEL = 'greenlight_events';
/** `application_name` of the listening connection (how operators, and tests, find it). */
export const LISTENER_APPLICATION_NAME = 'greenlight-listener';
// PostgreSQL refuses payloads of 8000 bytes and more; ids beyond this are sent as "read all".
const MAX_PAYLOAD_BYTES = 1_000;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 5_000;

/** The ids as a NOTIFY payload: comma-separated, or empty (read everything new) when too many. */
export function signalPayload(ids: readonly number[]): string {
  const text = ids.join(',');
  return text.length <= MAX_PAYLOAD_BYTES ? text : '';
}

export function parseSignalPayload(payload: string | undefined): number[] {
  if (!payload) return [];
  return payload
    .split(',')
    .map(Number)
    .filter((id) => Number.isSafeInteger(id));
}

/**
 * LISTEN/NOTIFY between instances on one PostgreSQL. `send` runs after the writer's commit and
 * never waits for it: ids sent while a NOTIFY is in flight are coalesced into the next one, so
 * under load NOTIFY costs one statement at a time per instance, off the write path. The listener
 * has a connection of its own; when it drops it reconnects (with backoff) and asks the hub to
 * resync, since signals sent meanwhile are lost.
 */
export function createPgSignal(connectionString: string, db: Database, onError: (error: unknown) => void): SignalTransport {
  let pending: number[] | null = null;
  let sending = false;
  let client: pg.Client | null = null;
  let handlers: SignalHandlers | null = null;
  let stopped = false;
  let retryMs = RECONNECT_MIN_MS;
  let retryTimer: NodeJS.Timeout | undefined;
  let listening = false;

  async function flush() {
    sending = true;
    while (pending) {
      const ids = pending;
      pending = null;
      await db.execute(sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${signalPayload(ids)})`).catch(onError);
    }
    sending = false;
  }

  async function connect() {
    if (stopped) return;
    const next = new pg.Client({ connectionString, application_name: LISTENER_APPLICATION_NAME });
    const lost = (error?: unknown) => {
      if (client !== next) return;
      client = null;
      listening = false;
      if (error) onError(error);
      next.end().catch(() => undefined);
      scheduleReconnect();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    next.on('notification', (message) => {
      if (message.channel === EVENTS_CHANNEL) handlers?.onSignal(parseSignalPayload(message.payload));
    });
    try {
      client = next;
      await next.connect();
      await next.query(`LISTEN ${EVENTS_CHANNEL}`);
      listening = client === next;
      retryMs = RECONNECT_MIN_MS;
      // Anything committed while no one listened is read now.
      handlers?.onResync();
    } catch (error) {
      lost(error);
    }
  }

  function scheduleReconnect() {
    if (stopped) return;
    retryTimer = setTimeout(() => void connect(), retryMs);
    retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
  }

  return {
    send(ids) {
      pending = pending ? pending.concat(ids) : [...ids];
      if (!sending) void flush();
    },
    async start(h) {
      handlers = h;
      await connect();
    },
    connected: () => listening,
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      const current = client;
      client = null;
      listening = false;
      await current?.end().catch(() => undefined);
    },
  };
}

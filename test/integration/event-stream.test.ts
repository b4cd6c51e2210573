import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { appendAuditEvents } from '../../src/audit/append.js';
import type { NewAuditEvent } from '../../src/audit/events.js';
import { STREAM_BUFFER_LIMIT, streamAuditEvents } from '../../src/audit/stream.js';
import type { AuditEventRow } from '../../src/db/schema.js';
import { SlowConsumerError } from '../../src/errors.js';
import { createEventHub, type EventHub } from '../../src/events/hub.js';
import type { LiveEvent } from '../../src/events/live-event.js';
import { createLocalSignal } from '../../src/events/signal.js';
import { createLogger } from '../../src/observability/logger.js';
import { comparePositions, positionOf, SEALER_APPLICATION_NAME, settledBelow } from '../../src/events/log.js';
import { onPostgres } from '../support/database.js';
import { insertPrincipalFor, startTestApp, type TestApp } from '../support/services.js';
import { requestAction } from '../../src/approvals/request-action.js';

// The hub and the audit stream on a real database: live order, seams, bounded buffers.

let test: TestApp;
/** What the app logged. */
const logged: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logged.push(chunk.toString('utf8'));
    done();
  },
});

beforeAll(async () => {
  test = await startTestApp({ logger: createLogger({ level: 'error', destination: sink, pretty: false }) });
});

afterAll(async () => {
  await test?.stop();
});

const rotation = (principalId: string): NewAuditEvent => ({
  type: 'TOKEN_ROTATED',
  actorId: null,
  data: { principalId, revokedTokens: 0 },
});

/** Appends `count` events and publishes them on `hub` (the app's by default). */
async function write(count: number, label: string, hub: EventHub = test.app.deps.hub): Promise<AuditEventRow[]> {
  const { deps } = test.app;
  const rows = await deps.db.transaction((tx) =>
    appendAuditEvents(
      tx,
      Array.from({ length: count }, (_, i) => rotation(`${label}-${i}`)),
    ),
  );
  hub.publish(rows);
  return rows;
}

describe('the audit stream', () => {
  it('hands listeners every event once, in live order', async () => {
    const heard: AuditEventRow[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const stop = test.app.deps.hub.listen((event) => {
      if (!/^[xyz]-/.test(String(event.data['principalId']))) return; // only this test's events
      heard.push(event);
      if (heard.length === 30) done();
    });
    try {
      await Promise.all([write(10, 'x'), write(10, 'y'), write(10, 'z')]);
      await all;
    } finally {
      stop();
    }
    expect(new Set(heard.map((e) => e.id)).size).toBe(30);
    heard.slice(1).forEach((event, i) => expect(comparePositions(positionOf(heard[i]!), positionOf(event))).toBeLessThan(0));
    expect(comparePositions(test.app.deps.hub.position(), positionOf(heard.at(-1)!))).toBeGreaterThanOrEqual(0);
  });

  it('calls a listener registered for some event types with events of those types only', async () => {
    const { db, hub } = test.app.deps;
    const mine = (event: AuditEventRow) => String(event.data['principalId']).startsWith('typed-');
    const typed: string[] = [];
    const every: string[] = [];
    let done!: () => void;
    const both = new Promise<void>((resolve) => (done = resolve));
    const stopTyped = hub.listen((event) => void (mine(event) && typed.push(event.type)), { types: ['TOKEN_ROTATED'] });
    const stopEvery = hub.listen((event) => {
      if (!mine(event)) return;
      every.push(event.type);
      if (every.length === 2) done();
    });
    try {
      const rows = await db.transaction((tx) =>
        appendAuditEvents(tx, [
          rotation('typed-a'),
          { type: 'PRINCIPAL_DISABLED', actorId: null, data: { principalId: 'typed-b', reason: null, cancelledRequests: 0 } },
        ]),
      );
      hub.publish(rows);
      await both;
    } finally {
      stopTyped();
      stopEvery();
    }
    expect(every).toEqual(['TOKEN_ROTATED', 'PRINCIPAL_DISABLED']);
    expect(typed).toEqual(['TOKEN_ROTATED']);
  });

  it('hands every listener of an event the same LiveEvent, whose shared work is made once per event', async () => {
    const { hub } = test.app.deps;
    const made: number[] = [];
    const seen = new Map<number, Set<LiveEvent>>();
    const values: string[] = [];
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (done = resolve));
    const stops = [0, 1, 2].map((listener) =>
      hub.listen((event, live) => {
        if (!String(event.data['principalId']).startsWith('shared-')) return;
        expect(live.row).toBe(event);
        let lives = seen.get(event.id);
        if (!lives) seen.set(event.id, (lives = new Set()));
        lives.add(live);
        const value = live.shared(
          'label',
          (by: number, shared) => {
            made.push(shared.row.id);
            return `${shared.row.data['principalId']} by listener ${by}`;
          },
          listener,
        );
        values.push(value);
        if (values.length === 6) done();
      }),
    );
    try {
      await write(2, 'shared');
      await all;
    } finally {
      stops.forEach((stop) => stop());
    }
    // One LiveEvent per event, the same for the three listeners; the work made once for each.
    expect([...seen.values()].map((lives) => lives.size)).toEqual([1, 1]);
    expect(made).toEqual([...seen.keys()]);
    expect(values).toEqual([
      'shared-0 by listener 0',
      'shared-0 by listener 0',
      'shared-0 by listener 0',
      'shared-1 by listener 0',
      'shared-1 by listener 0',
      'shared-1 by listener 0',
    ]);
  });

  it('reads the requests of the event types a listener asks for with the events, and no others', async () => {
    const { hub } = test.app.deps;
    const agent = await insertPrincipalFor(test.app, { kind: 'AGENT', name: 'stream-agent', roles: ['AGENT'] });
    const seen: { type: string; requestId: string | null; request: string | null | undefined }[] = [];
    const stopWatching = hub.listen(
      (event, live) => void seen.push({ type: event.type, requestId: event.requestId, request: live.request?.id }),
    );
    const stopAsking = hub.listen(() => undefined, { types: ['ACTION_ESCALATED'], requests: true });
    try {
      const { request } = await requestAction(test.app.deps, agent, { action: 'deploy.stream', resource: 'prod/stream' });
      expect(request.status).toBe('PENDING');
      const about = (id: string) => seen.filter((entry) => entry.requestId === id);
      await vi.waitFor(() => expect(about(request.id)).toHaveLength(2));
      expect(about(request.id)).toEqual([
        { type: 'ACTION_REQUESTED', requestId: request.id, request: undefined },
        { type: 'ACTION_ESCALATED', requestId: request.id, request: request.id },
      ]);
      // Once no listener asks, the hub reads the events alone.
      stopAsking();
      const later = await requestAction(test.app.deps, agent, { action: 'deploy.stream', resource: 'prod/stream-2' });
      await vi.waitFor(() => expect(about(later.request.id)).toHaveLength(2));
      expect(about(later.request.id).map((entry) => entry.request)).toEqual([undefined, undefined]);
    } finally {
      stopWatching();
      stopAsking();
    }
  });

  it('leaves the requests of a read unread, not absent, for a listener that asks during that read', async () => {
    const agent = await insertPrincipalFor(test.app, { kind: 'AGENT', name: 'late-asker', roles: ['AGENT'] });
    let stopAsking = null as (() => void) | null;
    // A hub of its own: the first listener that asks for requests comes while the escalation is read.
    const hub: EventHub = createEventHub(test.app.database.db, createLocalSignal(), {
      pollIntervalMs: 20,
      onRead: (events) => {
        if (!stopAsking && events.some((event) => event.type === 'ACTION_ESCALATED'))
          stopAsking = hub.listen(() => undefined, { types: ['ACTION_ESCALATED'], requests: true });
      },
    });
    await hub.start();
    const requestOf = new Map<string, string | null | undefined>();
    const stop = hub.listen((event, live) => void requestOf.set(event.requestId!, live.request === null ? null : live.request?.id), {
      types: ['ACTION_ESCALATED'],
    });
    try {
      const { request } = await requestAction(test.app.deps, agent, { action: 'deploy.stream', resource: 'prod/late' });
      await vi.waitFor(() => expect(requestOf.has(request.id)).toBe(true));
      expect(stopAsking).not.toBeNull();
      // Not read with this page (undefined: a stream reads it), rather than null (it has none).
      expect(requestOf.get(request.id)).toBeUndefined();
    } finally {
      stop();
      stopAsking?.();
      await hub.stop();
    }
  });

  it('lets other work run during a long delivery, and calls only the listeners that are there', async () => {
    const { hub } = test.app.deps;
    const mine = (event: AuditEventRow) => String(event.data['principalId']).startsWith('slice-');
    let called = 0;
    let calledWhenOtherWorkRan = -1;
    let lateCalls = 0;
    const stops: (() => void)[] = [];
    let finished!: () => void;
    const delivered = new Promise<void>((resolve) => (finished = resolve));
    for (let i = 0; i < 300; i++) {
      stops.push(
        hub.listen((event) => {
          if (!mine(event)) return;
          called++;
          if (i === 0) {
            // Work for the event loop, and a listener that would be slow enough to need a pause.
            setImmediate(() => {
              calledWhenOtherWorkRan = called;
              stops[299]!(); // removed before its turn: not called
              stops.push(hub.listen((e) => void (mine(e) && lateCalls++))); // added meanwhile: not called for this event
            });
            const until = performance.now() + 10;
            while (performance.now() < until) {
              // busy: the hub must notice the time it takes
            }
          }
          if (i === 298) finished();
        }),
      );
    }
    try {
      await write(1, 'slice');
      await delivered;
    } finally {
      stops.forEach((stop) => stop());
    }
    expect(calledWhenOtherWorkRan).toBeGreaterThan(0);
    expect(calledWhenOtherWorkRan).toBeLessThan(299);
    expect(called).toBe(299);
    expect(lateCalls).toBe(0);
  });

  it('reads the next events while a delivery is still going out, and delivers them after it, in order', async () => {
    const prefix = (event: AuditEventRow) => String(event.data['principalId']).split('-')[0];
    const LISTENERS = 20_000;
    let nextRead = false;
    let nextReadDuringDelivery: boolean | null = null;
    let lastListenerDone = false;
    // A hub of its own, to watch its reads.
    const hub = createEventHub(test.app.database.db, createLocalSignal(), {
      onRead: (events) => {
        if (events.some((event) => prefix(event) === 'aheadB')) {
          nextRead = true;
          nextReadDuringDelivery ??= !lastListenerDone;
        }
      },
    });
    await hub.start();
    const heard: string[] = [];
    let finished!: () => void;
    const bothHeard = new Promise<void>((resolve) => (finished = resolve));
    const stops: (() => void)[] = [];
    for (let i = 0; i < LISTENERS; i++) {
      stops.push(
        hub.listen((event) => {
          const which = prefix(event);
          if (which !== 'aheadA' && which !== 'aheadB') return;
          if (i === 0) {
            heard.push(which);
            // The next event commits while this one is going out.
            if (which === 'aheadA') setImmediate(() => void write(1, 'aheadB', hub));
          }
          if (which === 'aheadA' && !nextRead) {
            // A slow fan-out, until the next event has been read: the hub pauses between slices.
            const until = performance.now() + 0.2;
            while (performance.now() < until) {
              // busy
            }
          }
          if (i === LISTENERS - 1) {
            if (which === 'aheadA') lastListenerDone = true;
            else finished();
          }
        }),
      );
    }
    try {
      await write(1, 'aheadA', hub);
      await bothHeard;
    } finally {
      stops.forEach((stop) => stop());
      await hub.stop();
    }
    expect(nextReadDuringDelivery).toBe(true);
    expect(heard).toEqual(['aheadA', 'aheadB']);
  });

  it("waits for running transactions of this database only (those of sessions hidden from its role too), not for those of other databases on the server nor for the audit sealer's", async () => {
    const { db, hub } = test.app.deps;
    if (!onPostgres) {
      // One in-process connection: whatever committed is settled.
      const [event] = await write(1, 'pglite');
      expect(await settledBelow(db)).toBeGreaterThan(event!.txId);
      // ...and the bound needs no statement: it is known even while a transaction holds the connection.
      let release!: () => void;
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const open = db.transaction(async () => {
        entered();
        await new Promise<void>((resolve) => (release = resolve));
      });
      await inside;
      const bound = await settledBelow(db);
      release();
      await open;
      expect(bound).toBeGreaterThan(event!.txId);
      return;
    }
    // A long transaction elsewhere on the server (a bulk load in another database) ...
    const foreign = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
    await foreign.connect();
    const local = await test.app.database.openSession();
    try {
      await foreign.query('BEGIN');
      const foreignXid = Number((await foreign.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows[0]!.xid);
      // ... and one in this database, started after it.
      await local.db.execute(sql`BEGIN`);
      const localResult = (await local.db.execute(sql`SELECT pg_current_xact_id()::text AS xid`)) as unknown as { rows: { xid: string }[] };
      const localXid = Number(localResult.rows[0]!.xid);
      expect(localXid).toBeGreaterThan(foreignXid);
      await write(1, 'later'); // a later transaction commits (the bound never passes ids not yet ended)
      // The local one holds the bound; the foreign one does not (the app's own short transactions,
      // e.g. its sweeper's, may hold it a moment: wait them out).
      expect(await settledBelow(db)).toBeLessThanOrEqual(localXid);
      await vi.waitFor(async () => expect(await settledBelow(db)).toBe(localXid));
      await local.db.execute(sql`COMMIT`);

      // A sealer's transaction (it inserts no events) in this database, started before the next
      // event's, does not hold the bound either.
      await local.db.execute(sql`BEGIN`);
      await local.db.execute(sql`SELECT set_config('application_name', ${SEALER_APPLICATION_NAME}, true)`);
      const sealerResult = (await local.db.execute(sql`SELECT pg_current_xact_id()::text AS xid`)) as unknown as {
        rows: { xid: string }[];
      };
      const sealerXid = Number(sealerResult.rows[0]!.xid);

      // With only the foreign one and the sealer's open, a new event is delivered at once.
      let heard!: (event: AuditEventRow) => void;
      const delivered = new Promise<AuditEventRow>((resolve) => (heard = resolve));
      const stop = hub.listen((event) => void (event.data['principalId'] === 'beside-0' && heard(event)));
      try {
        const [event] = await write(1, 'beside');
        expect((await delivered).id).toBe(event!.id);
        expect(event!.txId).toBeGreaterThan(foreignXid);
        expect(event!.txId).toBeGreaterThan(sealerXid);
        await vi.waitFor(async () => expect(await settledBelow(db)).toBeGreaterThan(event!.txId));
      } finally {
        stop();
      }
    } finally {
      await foreign.query('ROLLBACK').catch(() => undefined);
      await foreign.end();
      await local.db.execute(sql`ROLLBACK`).catch(() => undefined);
      await local.close();
    }
    await expectHiddenSessionsWaitedFor();
  });

  /**
   * An instance whose role may not see another role's sessions (no `pg_read_all_stats`) still
   * waits for their transactions in this database: PostgreSQL hides most of such a session's
   * columns, its backend_type among them.
   */
  async function expectHiddenSessionsWaitedFor() {
    const suffix = Math.random().toString(36).slice(2, 10);
    const [appRole, otherRole] = [`greenlight_app_${suffix}`, `greenlight_other_${suffix}`];
    const admin = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
    await admin.connect();
    const database = ((await test.app.deps.db.execute(sql`SELECT current_database() AS name`)) as unknown as { rows: { name: string }[] })
      .rows[0]!.name;
    const as = (role: string) => {
      const url = new URL(process.env['DATABASE_URL']!);
      url.username = role;
      url.pathname = `/${database}`;
      return new pg.Client({ connectionString: url.toString() });
    };
    const clients: pg.Client[] = [];
    try {
      await admin.query(`CREATE ROLE ${appRole} LOGIN`);
      await admin.query(`CREATE ROLE ${otherRole} LOGIN`);
      const other = as(otherRole);
      const app = as(appRole);
      clients.push(other, app);
      await Promise.all(clients.map((c) => c.connect()));
      await other.query('BEGIN');
      const otherXid = Number((await other.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows[0]!.xid);
      // A later transaction commits, so the snapshot's xmax alone no longer holds the bound there.
      const [later] = await write(1, 'after-hidden');
      expect(later!.txId).toBeGreaterThan(otherXid);
      const seen = await app.query<{ backend_type: string | null }>('SELECT backend_type FROM pg_stat_activity WHERE usename = $1', [
        otherRole,
      ]);
      expect(seen.rows).toEqual([{ backend_type: null }]); // hidden from the app's role
      expect(await settledBelow(drizzle(app))).toBeLessThanOrEqual(otherXid);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await admin.query(`DROP ROLE IF EXISTS ${appRole}`);
      await admin.query(`DROP ROLE IF EXISTS ${otherRole}`);
      await admin.end();
    }
  }

  it('replays from a position, then goes live, with no gap and no duplicate at the seam', async () => {
    const [before] = await write(1, 'before');
    const missed = await write(5, 'missed');
    const stream = streamAuditEvents(test.app.deps.db, test.app.deps.hub, {
      start: { after: positionOf(before!) },
      filter: { types: ['TOKEN_ROTATED'] },
    })[Symbol.asyncIterator]();
    const first = await stream.next(); // the replay runs; live events after it follow
    const live = await write(5, 'live');
    const rest: AuditEventRow[] = [];
    while (rest.length < 9) rest.push((await stream.next()).value as AuditEventRow);
    await stream.return?.();
    expect([first.value as AuditEventRow, ...rest].map((e) => e.id)).toEqual([...missed, ...live].map((e) => e.id));
  });

  it(`ends a subscriber that falls more than ${STREAM_BUFFER_LIMIT} events behind with SlowConsumerError`, async () => {
    const { hub } = test.app.deps;
    const listeners = hub.listenerCount();
    const stream = streamAuditEvents(test.app.deps.db, hub, { start: null })[Symbol.asyncIterator]();
    const started = stream.next(); // starts the stream; the consumer then stops reading
    await write(1, 'first');
    await started;
    // The consumer reads nothing more until the hub has handed out the whole flood.
    const floodCount = STREAM_BUFFER_LIMIT + 50;
    let stopWatching: () => void = () => undefined;
    const handedOut = new Promise<void>((resolve) => {
      stopWatching = hub.listen((event) => {
        if (event.data['principalId'] === `flood-${floodCount - 1}`) resolve();
      });
    });
    await write(floodCount, 'flood');
    await handedOut;
    stopWatching();
    let received = 1;
    const outcome = await (async () => {
      for (;;) {
        const next = await stream.next().catch((error: unknown) => error);
        if (next instanceof Error) return next;
        if ((next as IteratorResult<AuditEventRow>).done) return 'done';
        received++;
      }
    })();
    expect(outcome).toBeInstanceOf(SlowConsumerError);
    expect(received).toBeLessThan(floodCount);
    expect(hub.listenerCount()).toBe(listeners);
  });
});

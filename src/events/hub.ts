import type { Database } from '../db/client.js';
import type { AuditEventRow } from '../db/schema.js';
import { createLogger, logError } from '../observability/logger.js';
import type { AuditEventType } from '../vocabulary.js';
import { LiveEvent } from './live-event.js';
import { positionOf, readSettledLive, settledHead, START_POSITION, type EventPosition } from './log.js';
import type { SignalTransport } from './signal.js';

/**
 * Called by the hub with each committed event, in live order, and the event's `LiveEvent`: the
 * same object for every listener of this delivery, carrying the work they share. It should return
 * quickly; what it throws is reported, and the other listeners still get the event.
 */
export type AuditEventListener = (event: AuditEventRow, live: LiveEvent) => void;

/** Which events a listener is called for, and what the hub reads with them. */
export interface ListenOptions {
  /** Only events of these types (a stream filtered by type need not be called for the others). */
  types?: readonly AuditEventType[] | null | undefined;
  /**
   * With `types`: the hub reads the request each such event is about in the same statement as the
   * events (`LiveEvent.request`), while this listener is registered.
   */
  requests?: boolean;
}

/**
 * Fans committed audit events out to this instance's subscribers, on every instance. Services
 * call `publish` after their transaction commits; that only *signals* (this instance at once,
 * the others through the transport). The hub then reads the log itself, in live order (see
 * `log.ts`), from the position it reached, and hands each event to every listener in that order.
 * So an event committed on any instance reaches every instance; one committed out of order, a
 * lost signal (a periodic read catches up) or a dropped listening connection (it resyncs on
 * reconnect) delays it at worst, and nothing is delivered twice.
 */
export interface EventHub {
  /** After a commit: these events exist; every instance will read and deliver them. */
  publish(events: readonly AuditEventRow[]): void;
  /** Registers `listener` at once (not lazily) and returns the function that removes it. */
  listen(listener: AuditEventListener, options?: ListenOptions): () => void;
  /** Number of registered listeners; lets tests prove subscriptions clean up after themselves. */
  listenerCount(): number;
  /** Everything at or before this position has been handed to the listeners. */
  position(): EventPosition;
  /** Whether the hub can read the log now, and hear other instances. */
  health(): HubHealth;
  /**
   * Called once when the hub has failed to read the log for LOST_AFTER_MS (the database is
   * unreachable), so the transports can tell their subscribers instead of leaving them with a
   * silently stale stream. Called again after each recovery and new loss. Returns the remover.
   */
  onLost(listener: () => void): () => void;
  /** Starts reading at the log's current head (earlier events are for replays to read). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface HubHealth {
  /** Reading the log works (the last read succeeded, or failures began less than LOST_AFTER_MS ago). */
  reading: boolean;
  /** Signals from other instances arrive (on PostgreSQL: the LISTEN connection is up). */
  listening: boolean;
}

/** How long reads of the log may fail before subscribers are told the database is lost. */
export const LOST_AFTER_MS = 3_000; // 3 seconds: three periodic reads

/** How often the hub reads without a signal, and where its errors go. */
export interface EventHubOptions {
  /** A read even without any signal, in case one was lost (default 1 s). */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
  /** Called with each page the hub reads, before it is delivered (for tests that watch the reads). */
  onRead?: (events: readonly AuditEventRow[]) => void;
}

/** A page as the hub delivers it: its events, and whether a running transaction holds more back. */
interface LivePage {
  events: LiveEvent[];
  held: boolean;
}

const PAGE = 500;
// Longest stretch of listener calls between two yields to the event loop.
const SLICE_MS = 1;
// When a lower transaction holds events back, read again soon, then less and less often.
const HELD_RETRY_MIN_MS = 2;

/** This instance's hub over `db`, woken by `transport` (LISTEN/NOTIFY, or in-process on PGlite). */
export function createEventHub(db: Database, transport: SignalTransport, options: EventHubOptions = {}): EventHub {
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const onError = options.onError ?? ((error) => logError(createLogger(), 'events', error));
  const listeners = new Set<AuditEventListener>();
  // The same listeners by the events they take: every event, or those of some types.
  const forEveryEvent = new Set<AuditEventListener>();
  const byType = new Map<AuditEventType, Set<AuditEventListener>>();
  // How many registered listeners want the requests of events of each type read with them.
  const requestsWanted = new Map<AuditEventType, number>();
  let position = START_POSITION;
  let started = false;
  let reading: Promise<void> | null = null;
  let again = false;
  let poll: NodeJS.Timeout | undefined;
  let heldTimer: NodeJS.Timeout | undefined;
  let heldRetryMs = HELD_RETRY_MIN_MS;
  // When reads of the log began to fail (null while they work), and whether that was announced.
  let failingSince: number | null = null;
  let lostAnnounced = false;
  const lostListeners = new Set<() => void>();

  const readFailed = (error: unknown) => {
    onError(error);
    failingSince ??= performance.now();
    if (!lostAnnounced && performance.now() - failingSince >= LOST_AFTER_MS) {
      lostAnnounced = true;
      for (const listener of lostListeners) {
        try {
          listener();
        } catch (caught) {
          onError(caught);
        }
      }
    }
  };

  /**
   * Hands an event to every listener registered when its delivery begins (one that registers
   * meanwhile starts after it, one removed meanwhile is not called). With many subscribers this
   * is long work, so it yields to the event loop about every millisecond: requests in flight,
   * database replies and pings are not held up behind a fan-out. Events stay in order: the next
   * one waits for this one.
   */
  const deliver = async (live: LiveEvent): Promise<void> => {
    const event = live.row;
    position = positionOf(event);
    const typed = byType.get(event.type);
    const receivers = typed ? [...forEveryEvent, ...typed] : [...forEveryEvent];
    let sliceStart = performance.now();
    for (let i = 0; i < receivers.length; i++) {
      const receiver = receivers[i]!;
      if (!listeners.has(receiver)) continue;
      // One faulty subscriber must not stop delivery to the others.
      try {
        receiver(event, live);
      } catch (error) {
        onError(error);
      }
      if ((i & 15) === 15 && performance.now() - sliceStart > SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  };

  /** A page of the log after `after`, each event with the request it is about where one is wanted. */
  const readPage = async (after: EventPosition): Promise<LivePage> => {
    // The types asked for when the read starts: a listener that asks meanwhile finds its events'
    // requests not read (undefined), not absent (null).
    const asked = new Set(requestsWanted.keys());
    const page = await readSettledLive(db, after, PAGE, [...asked]);
    options.onRead?.(page.events);
    const events = page.events.map((event) =>
      asked.has(event.type) ? new LiveEvent(event, page.requests.get(event.id) ?? null) : new LiveEvent(event),
    );
    return { events, held: page.held };
  };
  // While a page is being delivered: where it ends, and the next page when it is already being
  // read (read ahead: the fan-out of one page and the read of the next overlap). `aheadMissed`: a
  // signal came while that read was in flight, so it may not include what the signal announced.
  let deliveringUpTo: EventPosition | null = null;
  let ahead: { page: Promise<LivePage>; done: boolean } | null = null;
  let aheadMissed = false;
  const readAhead = (after: EventPosition) => {
    const entry = { page: readPage(after), done: false };
    ahead = entry;
    aheadMissed = false;
    const settle = () => {
      entry.done = true;
      // Still delivering: read again for the signal that came too late for this read.
      if (aheadMissed && ahead === entry && deliveringUpTo) readAhead(deliveringUpTo);
    };
    // A failure is handled where the page is awaited (below); it is not awaited if the hub stops.
    entry.page.then(settle, settle);
  };
  /** A signal (new events committed) while a page is being delivered. */
  const signalledDuringDelivery = (upTo: EventPosition) => {
    if (!ahead || ahead.done) readAhead(upTo);
    else aheadMissed = true;
  };

  async function readAll(): Promise<void> {
    let held = false;
    try {
      do {
        again = false;
        for (;;) {
          const page = await (ahead?.page ?? readPage(position));
          // A signal the page read ahead may not include is read for in one more pass.
          if (ahead && aheadMissed) again = true;
          ahead = null;
          aheadMissed = false;
          const last = page.events.at(-1);
          deliveringUpTo = last ? positionOf(last.row) : position;
          // A full page: more is waiting, read it while this one goes out.
          if (page.events.length === PAGE) readAhead(deliveringUpTo);
          for (const event of page.events) await deliver(event);
          deliveringUpTo = null;
          held = page.held;
          if (page.events.length < PAGE && !ahead) break;
        }
      } while (again && started);
    } finally {
      deliveringUpTo = null;
      ahead = null;
      aheadMissed = false;
    }
    if (held) {
      clearTimeout(heldTimer);
      heldTimer = setTimeout(catchUp, heldRetryMs);
      heldRetryMs = Math.min(heldRetryMs * 2, pollIntervalMs);
    } else heldRetryMs = HELD_RETRY_MIN_MS;
  }

  /**
   * Reads and delivers everything new; calls made meanwhile start the next read at once (during a
   * delivery) or are folded into one more pass.
   */
  function catchUp(): void {
    if (!started) return;
    if (reading) {
      // During a delivery, the next read starts now, from the end of the page going out: it sees
      // everything this call is about. Otherwise one more pass follows the current one.
      if (deliveringUpTo) signalledDuringDelivery(deliveringUpTo);
      else again = true;
      return;
    }
    reading = readAll()
      .then(() => {
        failingSince = null;
        lostAnnounced = false;
      }, readFailed)
      .finally(() => {
        reading = null;
      });
  }

  return {
    publish(events) {
      if (events.length === 0) return;
      catchUp();
      transport.send(events.map((event) => event.id));
    },
    listen(listener, options = {}) {
      const types = options.types?.length ? [...new Set(options.types)] : null;
      const requests = types !== null && options.requests === true;
      listeners.add(listener);
      if (!types) forEveryEvent.add(listener);
      for (const type of types ?? []) {
        let set = byType.get(type);
        if (!set) byType.set(type, (set = new Set()));
        set.add(listener);
        if (requests) requestsWanted.set(type, (requestsWanted.get(type) ?? 0) + 1);
      }
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        listeners.delete(listener);
        forEveryEvent.delete(listener);
        for (const type of types ?? []) {
          const set = byType.get(type);
          set?.delete(listener);
          if (set?.size === 0) byType.delete(type);
          if (!requests) continue;
          const wanting = requestsWanted.get(type)! - 1;
          if (wanting === 0) requestsWanted.delete(type);
          else requestsWanted.set(type, wanting);
        }
      };
    },
    listenerCount: () => listeners.size,
    health: () => ({
      reading: failingSince === null || performance.now() - failingSince < LOST_AFTER_MS,
      listening: transport.connected(),
    }),
    onLost(listener) {
      lostListeners.add(listener);
      return () => lostListeners.delete(listener);
    },
    position: () => position,
    async start() {
      position = await settledHead(db);
      started = true;
      poll = setInterval(catchUp, pollIntervalMs);
      poll.unref();
      await transport.start({ onSignal: catchUp, onResync: catchUp });
    },
    async stop() {
      started = false;
      clearInterval(poll);
      clearTimeout(heldTimer);
      await transport.stop();
      await reading;
    },
  };
}

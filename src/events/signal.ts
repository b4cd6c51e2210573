/**
 * How instances wake each other when audit events commit. A signal carries event ids only, as a
 * hint: the hub reads the events themselves from the database, in log order, so a lost, late or
 * duplicated signal can delay an event but never lose, reorder or duplicate it.
 *
 * Two transports: in-process (PGlite, or a single instance) and PostgreSQL LISTEN/NOTIFY
 * (`pg-signal.ts`). Another (e.g. Redis pub/sub) only has to implement this interface.
 */
export interface SignalHandlers {
  /** Events with these ids (a hint; may be empty) committed on some instance. */
  onSignal(ids: readonly number[]): void;
  /** Signals may have been missed (the transport just connected or reconnected): read everything new. */
  onResync(): void;
}

export interface SignalTransport {
  /** Tells every instance, this one included, that these events committed. Never throws, never waits. */
  send(ids: readonly number[]): void;
  start(handlers: SignalHandlers): Promise<void>;
  stop(): Promise<void>;
  /** Whether signals from other instances can arrive now (the readiness check reports it). */
  connected(): boolean;
}

/** In-process signals: the transport of PGlite, where one process holds the only connection. */
export function createLocalSignal(): SignalTransport {
  let handlers: SignalHandlers | null = null;
  return {
    send(ids) {
      const target = handlers;
      if (target) queueMicrotask(() => target.onSignal(ids));
    },
    async start(h) {
      handlers = h;
      h.onResync();
    },
    async stop() {
      handlers = null;
    },
    connected: () => handlers !== null,
  };
}

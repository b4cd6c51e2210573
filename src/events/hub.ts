import type { AuditEventRow } from '../db/schema.js';

export type AuditEventListener = (event: AuditEventRow) => void;

/**
 * Fans committed audit events out to this instance's subscribers. Services publish only after
 * their transaction commits, so a listener never sees an event that could still roll back.
 *
 * This is the in-process hub (one instance, or PGlite). Subscriptions are built on `listen`,
 * so a cross-instance transport can replace it without touching services or resolvers.
 */
export interface EventHub {
  publish(events: readonly AuditEventRow[]): void;
  /** Registers `listener` at once (not lazily) and returns the function that removes it. */
  listen(listener: AuditEventListener): () => void;
  /** Number of registered listeners; lets tests prove subscriptions clean up after themselves. */
  listenerCount(): number;
}

export function createEventHub(): EventHub {
  const listeners = new Set<AuditEventListener>();
  return {
    publish(events) {
      for (const event of events) {
        for (const listener of listeners) {
          // One faulty subscriber must not stop delivery to the others.
          try {
            listener(event);
          } catch (error) {
            console.error('[events] listener failed:', error);
          }
        }
      }
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    listenerCount: () => listeners.size,
  };
}

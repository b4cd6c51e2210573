import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

// A subscriber of the audit log that behaves as the README tells clients to: it keeps the cursor of
// the last event it got and, whenever its socket closes or its subscription ends (1013 while the
// database is away, an error), subscribes again from that cursor. Every event it got, in order,
// is kept for the test to compare with the log.

export interface TailedEvent {
  id: string;
  type: string;
  cursor: string;
  requestId: string | null;
}

export interface AuditTail {
  events: TailedEvent[];
  /** Close codes of the sockets it lost, and errors of the subscriptions that ended. */
  interruptions: string[];
  /** How many times it subscribed (1 + resubscriptions). */
  subscriptions(): number;
  stop(): Promise<void>;
}

const TAIL = `subscription($after: String) { auditEvents(after: $after) { id type cursor requestId } }`;
/** Pause before subscribing again, so a subscriber does not spin while the server cannot serve it. */
const RESUBSCRIBE_AFTER_MS = 200;

export function tailAuditLog(wsUrl: string, token: string, after: string): AuditTail {
  const events: TailedEvent[] = [];
  const interruptions: string[] = [];
  let cursor = after;
  let subscriptions = 0;
  let stopped = false;
  let dispose: (() => Promise<void>) | null = null;

  const run = async () => {
    while (!stopped) {
      subscriptions++;
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        on: { closed: (event) => interruptions.push(`closed ${(event as { code: number }).code}`) },
      });
      dispose = async () => client.dispose();
      try {
        for await (const result of client.iterate<{ auditEvents: TailedEvent }>({ query: TAIL, variables: { after: cursor } })) {
          if (result.errors) {
            interruptions.push(`errors ${JSON.stringify(result.errors)}`);
            break;
          }
          const event = result.data!.auditEvents;
          events.push(event);
          cursor = event.cursor;
        }
      } catch (error) {
        interruptions.push(`failed ${error instanceof Error ? error.message : JSON.stringify(error)}`);
      } finally {
        await client.dispose();
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_AFTER_MS));
    }
  };
  const running = run();
  return {
    events,
    interruptions,
    subscriptions: () => subscriptions,
    async stop() {
      stopped = true;
      await dispose?.();
      await running;
    },
  };
}

import type { Deps } from '../deps.js';
import { every } from '../periodic.js';
import { claimDeliveries, deliver, PER_ENDPOINT_IN_FLIGHT } from './dispatcher.js';
import { enqueueDeliveries, OUTBOX_BATCH } from './outbox.js';

/** Deliveries one instance sends at once, across endpoints. */
export const MAX_IN_FLIGHT = 32;

export interface Notifier {
  /** Stops ticking and waits for the deliveries being sent (each ends within the 10 s send timeout). */
  stop(): Promise<void>;
}

/**
 * Runs on every instance. Each tick it moves the outbox consumer over newly sealed audit events
 * (instances take turns on the stored position), then claims due deliveries and sends them
 * without waiting for them: a slow endpoint holds its own slots (at most two per endpoint), never
 * the tick, so other endpoints keep being served.
 */
export function startNotifier(deps: Pick<Deps, 'db' | 'redactor' | 'webhooks' | 'metrics'>, onError: (error: unknown) => void): Notifier {
  const inFlight = new Map<string, number>();
  const sending = new Set<Promise<unknown>>();
  let stopped = false;
  const total = () => [...inFlight.values()].reduce((sum, n) => sum + n, 0);

  const tick = async () => {
    // Enqueueing and sending fail apart: a consumer stuck on a bad batch must not stop retries.
    try {
      while (!stopped && (await enqueueDeliveries({ ...deps, publicUrl: deps.webhooks.publicUrl })) === OUTBOX_BATCH) {
        // A full batch: more sealed events are waiting.
      }
    } catch (error) {
      if (!stopped) onError(error);
    }
    if (stopped) return;
    try {
      const busy = [...inFlight].filter(([, n]) => n >= PER_ENDPOINT_IN_FLIGHT).map(([id]) => id);
      for (const delivery of await claimDeliveries(deps.db, busy, MAX_IN_FLIGHT - total())) {
        inFlight.set(delivery.webhookId, (inFlight.get(delivery.webhookId) ?? 0) + 1);
        const sent = deliver(deps.db, deps.webhooks, delivery)
          .then((result) => deps.metrics.observeDelivery(result.outcome))
          .catch(onError)
          .finally(() => {
            const left = (inFlight.get(delivery.webhookId) ?? 1) - 1;
            if (left > 0) inFlight.set(delivery.webhookId, left);
            else inFlight.delete(delivery.webhookId);
            sending.delete(sent);
          });
        sending.add(sent);
      }
    } catch (error) {
      if (!stopped) onError(error);
    }
  };

  const ticks = every(deps.webhooks.intervalMs, tick, onError);

  return {
    async stop() {
      stopped = true;
      await ticks.stop();
      await Promise.allSettled([...sending]);
    },
  };
}

import type { Deps } from '../deps.js';
import { escalateDueRequests } from './escalate.js';
import { expireOverdueRequests, SWEEP_BATCH } from './expire.js';

export interface Sweeper {
  stop(): Promise<void>;
}

/**
 * Ends overdue requests, then applies due escalation steps, until neither has a full batch left.
 * Expiry goes first: a request past its deadline needs no more reviewers.
 */
export async function sweepOnce(deps: Deps): Promise<void> {
  while ((await expireOverdueRequests(deps)).length === SWEEP_BATCH) {
    // A full batch: more may be due; go on without waiting for the next tick.
  }
  while ((await escalateDueRequests(deps)).length === SWEEP_BATCH) {
    // Likewise.
  }
}

/**
 * Runs `sweepOnce` every `intervalMs` on this instance (every instance runs one; the row locks
 * keep them from doing the same work).
 */
export function startSweeper(deps: Deps, intervalMs: number, onError: (error: unknown) => void): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const sweep = async () => {
    try {
      if (!stopped) await sweepOnce(deps);
    } catch (error) {
      onError(error);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = sweep().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

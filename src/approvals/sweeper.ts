import type { Deps } from '../deps.js';
import { every, type Periodic } from '../periodic.js';
import { escalateDueRequests } from './escalate.js';
import { expireOverdueRequests, SWEEP_BATCH } from './expire.js';
import { remindDueRequests } from './remind.js';

export type Sweeper = Periodic;

/**
 * Ends overdue requests, then sends due reminders and applies due escalation steps, until none has
 * a full batch left. Expiry goes first: a request past its deadline needs no reminder and no more
 * reviewers.
 */
export async function sweepOnce(deps: Deps): Promise<void> {
  while ((await expireOverdueRequests(deps)).length === SWEEP_BATCH) {
    // A full batch: more may be due; go on without waiting for the next tick.
  }
  while ((await remindDueRequests(deps)).length === SWEEP_BATCH) {
    // Likewise.
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
  return every(intervalMs, () => sweepOnce(deps), onError);
}

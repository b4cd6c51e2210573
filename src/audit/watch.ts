import type { Deps } from '../deps.js';
import { every, type Periodic } from '../periodic.js';
import { verifyAuditLog } from './verify-log.js';

/**
 * The service's own check of its audit log: every `intervalMs`, the instance that seals (`isLeader`)
 * verifies the whole sealed log against the checkpoints it trusts and raises the alarm for a break
 * it finds (AUDIT_VERIFICATION_FAILED, which webhooks send as `audit.verification_failed`).
 * Other instances skip their turn, so the log is read by one instance per interval.
 */
export function startAuditWatch(
  deps: Pick<Deps, 'db' | 'auditKeys' | 'auditAlarm'>,
  isLeader: () => boolean,
  intervalMs: number,
  onError: (error: unknown) => void,
): Periodic {
  return every(
    intervalMs,
    async () => {
      if (!isLeader()) return;
      await deps.auditAlarm.raise(await verifyAuditLog(deps.db, deps.auditKeys), null);
    },
    onError,
  );
}

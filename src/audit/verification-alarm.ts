import type { Deps } from '../deps.js';
import { appendAuditEvents } from './append.js';
import type { AuditLogVerification } from './verify-log.js';

/** Raises AUDIT_VERIFICATION_FAILED for a broken audit log, from `createAuditAlarm`. */
export interface AuditAlarm {
  /**
   * Records a failed check of the whole log (from seq 1) as AUDIT_VERIFICATION_FAILED, which
   * webhooks send as `audit.verification_failed`, unless this instance recorded the same break
   * (first broken seq and reason) within the quiet period. Returns whether it recorded it.
   */
  raise(report: AuditLogVerification, checkedById: string | null): Promise<boolean>;
}

/** Breaks remembered at most: a log broken in more places than this is alarmed about anyway. */
const REMEMBERED = 100;

/**
 * The alarm's memory is this instance's, not the log's: a row in a log someone rewrote cannot be
 * trusted to say "already reported", so a planted one silences nothing. A ranged check is never
 * recorded: where it starts changes the seq it names, so a caller could raise one alarm per start.
 * A break still there after the quiet period (the periodic check's interval) is recorded again.
 */
export function createAuditAlarm(deps: Pick<Deps, 'db' | 'hub'>, quietMs: number): AuditAlarm {
  const raised = new Map<string, number>();
  return {
    async raise(report, checkedById) {
      if (report.ok || report.fromSeq !== 1) return false;
      const key = `${report.firstBrokenSeq}:${report.reason}`;
      const now = performance.now();
      const last = raised.get(key);
      if (last !== undefined && now - last < quietMs) return false;
      raised.delete(key);
      raised.set(key, now);
      if (raised.size > REMEMBERED) raised.delete(raised.keys().next().value!);
      const events = await deps.db.transaction((tx) =>
        appendAuditEvents(tx, [
          {
            type: 'AUDIT_VERIFICATION_FAILED',
            actorId: checkedById,
            requestId: null,
            data: {
              checkedById,
              fromSeq: report.fromSeq,
              toSeq: report.toSeq,
              firstBrokenSeq: report.firstBrokenSeq,
              reason: report.reason,
              message: report.message,
            },
          },
        ]),
      );
      deps.hub.publish(events);
      return true;
    },
  };
}

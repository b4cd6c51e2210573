import { and, eq, sql } from 'drizzle-orm';
import { auditEvents } from '../db/schema.js';
import { ADVISORY_LOCKS } from '../db/locks.js';
import type { Deps } from '../deps.js';
import { appendAuditEvents } from './append.js';
import type { AuditLogVerification } from './verify-log.js';

/**
 * Records a failed check of the audit log as AUDIT_VERIFICATION_FAILED (webhooks send it as
 * `audit.verification_failed`), once per break: a break already recorded (same first broken seq
 * and reason) is not recorded again, whoever finds it and however often. The check runs under a
 * transaction lock, so instances finding the same break at once record it once. Returns whether
 * this call recorded it.
 */
export async function recordVerificationFailure(
  deps: Pick<Deps, 'db' | 'hub'>,
  report: AuditLogVerification,
  checkedById: string | null,
): Promise<boolean> {
  if (report.ok) return false;
  const firstBrokenSeq = report.firstBrokenSeq === null ? null : String(report.firstBrokenSeq);
  const events = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.verificationAlarm})`);
    const [known] = await tx
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.type, 'AUDIT_VERIFICATION_FAILED'),
          sql`${auditEvents.data} ->> 'firstBrokenSeq' IS NOT DISTINCT FROM ${firstBrokenSeq}`,
          sql`${auditEvents.data} ->> 'reason' IS NOT DISTINCT FROM ${report.reason}`,
        ),
      )
      .limit(1);
    if (known) return [];
    return appendAuditEvents(tx, [
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
    ]);
  });
  deps.hub.publish(events);
  return events.length > 0;
}

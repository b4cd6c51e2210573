import { verifyAuditLogAs, type AuditLogVerification } from '../../audit/verify-log.js';
import { AuditBreak } from '../../audit/verify.js';
import { Permission } from '../../auth/permissions.js';
import { builder } from '../builder.js';
import { viewerOf } from './viewer.js';

const AuditBreakEnum = builder.enumType('AuditBreak', {
  description: 'How the audit log was found broken at `firstBrokenSeq`.',
  values: {
    [AuditBreak.MODIFIED]: {
      description: 'The event no longer matches its hash, or the chain was rewritten after it so it no longer reaches a signed checkpoint.',
    },
    [AuditBreak.DELETED]: { description: 'The event at this place is gone.' },
    [AuditBreak.REORDERED]: { description: 'The event is intact but chained to another predecessor: events were moved.' },
    [AuditBreak.INSERTED]: { description: 'The event was never sealed into the chain: its successor is chained to its predecessor.' },
    [AuditBreak.BAD_SIGNATURE]: { description: "The checkpoint at this place is not signed by this server's audit key." },
  } as const,
});

const AuditVerificationRef = builder
  .objectRef<AuditLogVerification & { keyId: string; trustedKeyIds: string[] }>('AuditVerification')
  .implement({
    description: 'The result of recomputing the audit hash chain and checking the signed checkpoints over a range of `seq`.',
    fields: (t) => ({
      ok: t.exposeBoolean('ok', { description: 'True when every event in the range is intact, in place, and every checkpoint verifies.' }),
      fromSeq: t.exposeInt('fromSeq', { description: 'First place checked.' }),
      toSeq: t.exposeInt('toSeq', { description: 'Last place asked for (the newest sealed event by default).' }),
      eventsChecked: t.exposeInt('eventsChecked', {
        description: 'Events whose hash and link were recomputed before the first break (all of them when ok).',
      }),
      checkpointsChecked: t.exposeInt('checkpointsChecked', { description: 'Signed checkpoints verified.' }),
      firstBrokenSeq: t.exposeInt('firstBrokenSeq', {
        nullable: true,
        description: 'The first place that cannot be vouched for; null when ok.',
      }),
      reason: t.field({
        type: AuditBreakEnum,
        nullable: true,
        description: 'What was found there; null when ok.',
        resolve: (r) => r.reason,
      }),
      message: t.exposeString('message', { nullable: true, description: 'The finding in words.' }),
      lastSeq: t.exposeInt('lastSeq', { nullable: true, description: 'The last place verified.' }),
      lastCheckpointSeq: t.exposeInt('lastCheckpointSeq', {
        nullable: true,
        description: 'The last checkpoint verified: events after it are chained but not yet covered by a signature.',
      }),
      unsealedEvents: t.exposeInt('unsealedEvents', {
        description: 'Committed events not sealed yet (sealing follows within about a second); not covered.',
      }),
      keyId: t.exposeString('keyId', {
        description: "Thumbprint (RFC 7638) of this server's signing key, served at /.well-known/greenlight-audit-key.json.",
      }),
      trustedKeyIds: t.exposeStringList('trustedKeyIds', {
        description: "Every key a checkpoint may be signed with to verify here: this server's, then those of AUDIT_TRUSTED_KEYS.",
      }),
    }),
  });

builder.queryField('verifyAuditLog', (t) =>
  t.field({
    type: AuditVerificationRef,
    description:
      'Recomputes the audit hash chain from `from` to `to` (default: all of it) and verifies every signed checkpoint in it, reporting the first broken `seq` and why. A range not starting at 1 trusts the stored hash before it. AUDITOR or ADMIN only.',
    authScopes: { can: Permission.ReadAudit },
    args: {
      from: t.arg.int({ required: false, description: 'First seq to check (default 1).' }),
      to: t.arg.int({ required: false, description: 'Last seq to check (default: the newest sealed event).' }),
    },
    resolve: async (_root, args, ctx) => ({
      ...(await verifyAuditLogAs(ctx.deps, viewerOf(ctx), { from: args.from, to: args.to })),
      keyId: ctx.deps.auditKeys.keyId,
      trustedKeyIds: ctx.deps.auditKeys.trusted.map((key) => key.kid),
    }),
  }),
);

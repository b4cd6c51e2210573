import type { ExportLine } from './export.js';

/** The CloudEvents `type` prefix: reverse-DNS of the project, then the audit event's noun and verb. */
export const CLOUDEVENT_TYPE_PREFIX = 'dev.greenlight';

/** `ACTION_APPROVED` → `dev.greenlight.action.approved`; `STANDING_APPROVAL_USED` → `dev.greenlight.standing_approval.used`. */
export function cloudEventType(auditType: string): string {
  const words = auditType.toLowerCase().split('_');
  const verb = words.pop()!;
  return `${CLOUDEVENT_TYPE_PREFIX}.${words.length ? `${words.join('_')}.` : ''}${verb}`;
}

/** A CloudEvents 1.0 event in its JSON format, with Greenlight's chain position and hashes as extensions. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  data: unknown;
  /** The event's place in the hash chain (extension attribute). */
  chainseq: number;
  /** The event's chain hash, sha256 of the previous hash and the canonical event (extension attribute). */
  chainhash: string;
  chainprevhash?: string;
}

/**
 * One export line as a CloudEvent, so a SIEM that takes CloudEvents ingests the log unchanged.
 * An audit event keeps its sealed fields (`data` as sealed, so the chain can still be recomputed
 * from `chainprevhash`, the type, actor, request, data and time); a checkpoint becomes a
 * `dev.greenlight.audit.checkpoint` event carrying its signature, timed as the event it signs
 * (`previousTime`), so an export reads the same each time.
 */
export function toCloudEvent(line: ExportLine, source: string, previousTime: string | null = null): CloudEvent {
  if (line.kind === 'checkpoint') {
    return {
      specversion: '1.0',
      id: `checkpoint-${line.seq}`,
      source,
      type: `${CLOUDEVENT_TYPE_PREFIX}.audit.checkpoint`,
      // A checkpoint is signed right after the event it covers: its time stands for the checkpoint's.
      time: previousTime ?? new Date(0).toISOString(),
      datacontenttype: 'application/json',
      data: { seq: line.seq, hash: line.hash, keyId: line.keyId, signature: line.signature },
      chainseq: line.seq,
      chainhash: line.hash,
    };
  }
  return {
    specversion: '1.0',
    id: String(line.id),
    source,
    type: cloudEventType(line.type),
    time: new Date(line.createdAt).toISOString(),
    ...(line.requestId ? { subject: line.requestId } : {}),
    datacontenttype: 'application/json',
    data: {
      auditType: line.type,
      actorId: line.actorId,
      requestId: line.requestId,
      data: line.data,
      ...(line.redacted ? { redacted: line.redacted } : {}),
    },
    chainseq: line.seq,
    chainhash: line.hash,
    chainprevhash: line.prevHash,
  };
}

import { ConfigError } from '../config.js';
import { callGraphQL, type ServerOptions } from './graphql-client.js';

/** The server's `AuditVerification`, as `verifyAuditLog` returns it. */
export interface AuditVerification {
  ok: boolean;
  fromSeq: number;
  toSeq: number;
  eventsChecked: number;
  checkpointsChecked: number;
  firstBrokenSeq: number | null;
  reason: string | null;
  message: string | null;
  lastSeq: number | null;
  lastCheckpointSeq: number | null;
  unsealedEvents: number;
  keyId: string;
}

// The same selection as the VerifyAuditLog operation in schema/operations/auditor.graphql.
const VERIFY_AUDIT_LOG = `query VerifyAuditLog($from: Int, $to: Int) {
  verifyAuditLog(from: $from, to: $to) {
    ok fromSeq toSeq eventsChecked checkpointsChecked firstBrokenSeq reason message
    lastSeq lastCheckpointSeq unsealedEvents keyId
  }
}`;

/** GraphQL's Int is a signed 32-bit integer: the largest `seq` the query accepts. */
const MAX_SEQ = 2_147_483_647;

/** Parses `--from`/`--to`: a whole number from 1 up; throws a `ConfigError` (a usage error). */
export function seqOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_SEQ) {
    throw new ConfigError(`--${name} must be a positive whole number (a seq from 1 to ${MAX_SEQ}), got "${value}".`);
  }
  return Number(value);
}

export async function fetchAuditVerification(server: ServerOptions, range: { from?: number | undefined; to?: number | undefined }) {
  if (range.from !== undefined && range.to !== undefined && range.from > range.to) {
    throw new ConfigError(`--from (${range.from}) must not be greater than --to (${range.to}).`);
  }
  const data = await callGraphQL<{ verifyAuditLog: AuditVerification }>(server, VERIFY_AUDIT_LOG, {
    from: range.from ?? null,
    to: range.to ?? null,
  });
  return data.verifyAuditLog;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What both reports share: what was checked, and the last checkpoint that verified. */
interface Checked {
  ok: boolean;
  eventsChecked: number;
  checkpointsChecked: number;
  lastSeq: number | null;
  lastCheckpointSeq: number | null;
}

const checkedText = (result: Checked) =>
  `${plural(result.eventsChecked, 'event')} and ${plural(result.checkpointsChecked, 'checkpoint')} checked`;

function lastCheckpointLine(result: Checked, fromSeq: number): string {
  const unsigned = result.lastSeq !== null && result.lastSeq > (result.lastCheckpointSeq ?? fromSeq - 1);
  const after = result.lastCheckpointSeq === null ? fromSeq : result.lastCheckpointSeq + 1;
  return (
    `  last checkpoint: ${result.lastCheckpointSeq === null ? 'none verified' : `seq ${result.lastCheckpointSeq}`}` +
    (result.ok && unsigned ? ` (seq ${after} to ${result.lastSeq} not covered by a checkpoint in the range)` : '')
  );
}

/** The report for people: the verdict first, then what was covered. */
export function formatAuditVerification(result: AuditVerification): string[] {
  const lines: string[] = [];
  const checked = checkedText(result);
  if (result.ok) {
    const range = result.lastSeq === null ? 'no sealed events in range' : `seq ${result.fromSeq} to ${result.lastSeq}`;
    lines.push(`✓ audit log ok: ${range}, ${checked}`);
  } else {
    lines.push(`✗ audit log broken at seq ${result.firstBrokenSeq ?? '?'}: ${result.reason ?? 'UNKNOWN'}`);
    if (result.message) lines.push(`  ${result.message}`);
    lines.push(`  ${checked} before the break (range asked: seq ${result.fromSeq} to ${result.toSeq})`);
  }
  if (result.toSeq < result.fromSeq) {
    // The server clamps `toSeq` to the newest sealed event: the range starts past the chain's end.
    lines.push(
      result.toSeq === 0
        ? '  note: no event is sealed yet'
        : `  note: the newest sealed event is seq ${result.toSeq}, before seq ${result.fromSeq} where the range starts`,
    );
  }
  lines.push(lastCheckpointLine(result, result.fromSeq));
  lines.push(
    `  unsealed events: ${result.unsealedEvents}${result.unsealedEvents > 0 ? ' (not covered; the server seals them within about a second)' : ''}`,
  );
  lines.push(`  key id: ${result.keyId}`);
  return lines;
}

/** An offline check of an export file (`audit verify --file`), as `verifyExportFile` returns it. */
export interface OfflineVerification extends Checked {
  file: string;
  /** The first event's seq in the file; null for a file without events. */
  fromSeq: number | null;
  firstBrokenSeq: number | null;
  reason: string | null;
  message: string | null;
  keyIds: string[];
  keySource: string;
  anchor: { seq: number; hash: string } | undefined;
}

/** The same report for an export file: no unsealed events or server range, but the trust it rests on. */
export function formatExportVerification(result: OfflineVerification): string[] {
  const lines: string[] = [];
  const checked = checkedText(result);
  const range = result.lastSeq === null || result.fromSeq === null ? 'no events in the file' : `seq ${result.fromSeq} to ${result.lastSeq}`;
  if (result.ok) {
    lines.push(`✓ audit export ok: ${result.file}: ${range}, ${checked}`);
  } else if (result.reason === null) {
    // The chain is intact, but anyone could have recomputed it: nothing trusted vouches for it.
    lines.push(`✗ audit export not vouched for: ${result.file}: ${range}, ${checked}`);
    if (result.message) lines.push(`  ${result.message}`);
  } else {
    lines.push(`✗ audit export broken at seq ${result.firstBrokenSeq ?? '?'}: ${result.reason}`);
    if (result.message) lines.push(`  ${result.message}`);
    lines.push(`  ${checked} before the break (${result.file})`);
  }
  if (result.fromSeq !== null) lines.push(lastCheckpointLine(result, result.fromSeq));
  if (result.anchor) lines.push(`  anchor: checkpoint seq ${result.anchor.seq} (given with --checkpoint)`);
  lines.push(`  trusted key${result.keyIds.length === 1 ? ' id' : ' ids'}: ${result.keyIds.join(', ')} (${result.keySource})`);
  return lines;
}

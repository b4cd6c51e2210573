import type { NewAuditEvent } from '../audit/events.js';
import { actionRequests, auditEvents, type ActionRequestRow, type AuditEventRow } from '../db/schema.js';
import { rowFromJson, runStatement, type Statement } from '../db/statement.js';
import type { Deps } from '../deps.js';

/**
 * The write path of `requestAction` as one statement, committed on its own: the request, its
 * audit events and any redacted values are inserted together, only if the policy version that
 * decided is still the active one (and, for an escalation that standing approvals may settle,
 * only if none is live). One round trip instead of BEGIN, a version check, two inserts and COMMIT.
 *
 * Parameters: 1 policy version (null: the built-in policy), 2 whether to look for live standing
 * approvals, 3 agent, 4 on behalf of, 5 owner, 6 action, 7 resource, 8 params (JSON), 9 reason,
 * 10 context (JSON), 11 idempotency key, 12 payload hash, 13 redact paths (JSON array),
 * 14 effect, 15 evaluation (JSON), 16 matched rules (JSON array), 17 status, 18 decided by,
 * 19 decision reason, 20 seconds an approval stays valid, 21 review requirements (JSON),
 * 22 required groups (JSON array), 23 required approvals, 24 seconds to the deadline, 25 to the
 * next escalation step, 26 to the reminder, 27 the events (JSON: type, actor_id, data, ord,
 * with_expiry: the request's deadline is added to its data as `expiresAt`), 28 the first event's
 * redacted values (JSON) or null.
 *
 * Returns one row: the active version it saw, whether the checks passed, and the request and
 * events written (null when nothing was: a check failed, or the idempotency key was taken).
 */
const INSERT_REQUEST: Statement = {
  name: 'greenlight_insert_request_v1',
  text: `WITH policy AS (
  SELECT (SELECT version FROM policy_versions WHERE active LIMIT 1) AS active_version
), gate AS (
  SELECT 1 FROM policy
  WHERE active_version IS NOT DISTINCT FROM $1::int
    AND NOT ($2::boolean AND EXISTS (
      SELECT 1 FROM standing_approvals s
      WHERE s.agent_id = $3::uuid AND s.action = $6::text AND s.revoked_at IS NULL AND s.expires_at > clock_timestamp()))
), request AS (
  INSERT INTO action_requests (agent_id, on_behalf_of_id, owner_id, action, resource, params, reason, context,
    idempotency_key, payload_hash, redact_paths, effect, evaluation, matched_rules, status, decided_at, decided_by,
    decision_reason, valid_until, review_requirements, required_groups, required_approvals, expires_at,
    next_escalation_at, remind_at)
  SELECT $3::uuid, $4::uuid, $5::uuid, $6::text, $7::text, $8::jsonb, $9::text, $10::jsonb,
    $11::text, $12::text, ARRAY(SELECT jsonb_array_elements_text($13::jsonb)), $14::policy_effect, $15::jsonb,
    ARRAY(SELECT jsonb_array_elements_text($16::jsonb)), $17::action_status,
    CASE WHEN $17::action_status <> 'PENDING' THEN now() END, $18::decision_source,
    $19::text, now() + make_interval(secs => $20::float8), $21::jsonb,
    ARRAY(SELECT jsonb_array_elements_text($22::jsonb)), $23::int, now() + make_interval(secs => $24::float8),
    now() + make_interval(secs => $25::float8), now() + make_interval(secs => $26::float8)
  FROM gate
  ON CONFLICT (agent_id, idempotency_key) DO NOTHING
  RETURNING *
), events AS (
  INSERT INTO audit_events (type, actor_id, request_id, data)
  SELECT e.type::audit_event_type, e.actor_id, r.id,
    CASE WHEN e.with_expiry
      THEN e.data || jsonb_build_object('expiresAt', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      ELSE e.data END
  FROM request r CROSS JOIN jsonb_to_recordset($27::jsonb) AS e(type text, actor_id uuid, data jsonb, ord int, with_expiry boolean)
  ORDER BY e.ord
  RETURNING *
), redacted AS (
  INSERT INTO audit_redacted_values (event_id, redacted)
  SELECT id, $28::jsonb FROM events WHERE type = 'ACTION_REQUESTED' AND $28::jsonb IS NOT NULL
)
SELECT (SELECT active_version FROM policy) AS active_version,
  EXISTS (SELECT 1 FROM gate) AS passed,
  (SELECT to_jsonb(r) FROM request r) AS request,
  (SELECT jsonb_agg(to_jsonb(e) ORDER BY e.id) FROM events e) AS events`,
};

/** The request's columns as plain values: deadlines as seconds from now, counted in database time. */
export interface NewRequest {
  agentId: string;
  onBehalfOfId: string | null;
  ownerId: string | null;
  action: string;
  resource: string;
  params: Record<string, unknown> | null;
  reason: string | null;
  context: Record<string, string>;
  idempotencyKey: string | null;
  payloadHash: string;
  redactPaths: string[];
  effect: ActionRequestRow['effect'];
  evaluation: ActionRequestRow['evaluation'];
  matchedRules: string[];
  status: ActionRequestRow['status'];
  decidedBy: 'POLICY' | null;
  decisionReason: string | null;
  validForSeconds: number | null;
  reviewRequirements: ActionRequestRow['reviewRequirements'];
  requiredGroups: string[];
  requiredApprovals: number;
  expiresInSeconds: number | null;
  nextEscalationInSeconds: number | null;
  remindInSeconds: number | null;
}

/** An event of the request; `withExpiry` adds the request's deadline to its data. */
export type RequestEvent = Omit<NewAuditEvent, 'requestId'> & { withExpiry?: boolean };

export type StatementOutcome =
  | { written: true; request: ActionRequestRow; events: AuditEventRow[] }
  | { written: false; reason: 'POLICY_CHANGED' | 'STANDING_APPROVALS' | 'IDEMPOTENCY_KEY_TAKEN'; activeVersion: number | null };

interface ResultRow {
  active_version: number | null;
  passed: boolean;
  request: Record<string, unknown> | null;
  events: Record<string, unknown>[] | null;
}

/** Writes a request decided by `policyVersion`, with its events, in one statement (see INSERT_REQUEST). */
export async function insertRequestInOneStatement(
  deps: Pick<Deps, 'db'>,
  policyVersion: number | null,
  request: NewRequest,
  events: readonly RequestEvent[],
): Promise<StatementOutcome> {
  const checkStanding = request.status === 'PENDING' && request.evaluation.standingAllowed !== false;
  const json = JSON.stringify;
  const [row] = await runStatement<ResultRow>(deps.db, INSERT_REQUEST, [
    policyVersion,
    checkStanding,
    request.agentId,
    request.onBehalfOfId,
    request.ownerId,
    request.action,
    request.resource,
    request.params === null ? null : json(request.params),
    request.reason,
    json(request.context),
    request.idempotencyKey,
    request.payloadHash,
    json(request.redactPaths),
    request.effect,
    json(request.evaluation),
    json(request.matchedRules),
    request.status,
    request.decidedBy,
    request.decisionReason,
    request.validForSeconds,
    json(request.reviewRequirements),
    json(request.requiredGroups),
    request.requiredApprovals,
    request.expiresInSeconds,
    request.nextEscalationInSeconds,
    request.remindInSeconds,
    json(
      events.map((event, ord) => ({ type: event.type, actor_id: event.actorId, data: event.data, ord, with_expiry: !!event.withExpiry })),
    ),
    events[0]?.redacted?.length ? json(events[0].redacted) : null,
  ]);
  if (row?.request) {
    return {
      written: true,
      request: rowFromJson(actionRequests, row.request),
      events: (row.events ?? []).map((event) => rowFromJson(auditEvents, event)),
    };
  }
  const activeVersion = row?.active_version ?? null;
  if (activeVersion !== policyVersion) return { written: false, reason: 'POLICY_CHANGED', activeVersion };
  return { written: false, reason: row?.passed ? 'IDEMPOTENCY_KEY_TAKEN' : 'STANDING_APPROVALS', activeVersion };
}

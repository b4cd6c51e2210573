import type { Redactor } from '../audit/redaction.js';
import type { ActionRequestRow, AuditEventRow } from '../db/schema.js';
import type { WebhookEvent } from '../vocabulary.js';

/** What a delivery says: Standard Webhooks' envelope, the same for every retry. */
export interface WebhookBody {
  type: WebhookEvent;
  /** When the audit event was recorded. */
  timestamp: string;
  data: {
    /** The audit event behind it: its place in the chain, type, actor and (already redacted) details. */
    event: { seq: number; type: string; actorId: string | null; data: Record<string, unknown> };
    /** The request, as an AUDITOR sees it (redacted values as markers); absent for events about no request. */
    request?: RequestView;
    /** Where to see it in the console; absent when PUBLIC_URL is not set. */
    consoleUrl?: string;
  };
}

export interface RequestView {
  id: string;
  action: string;
  resource: string;
  status: string;
  reason: string | null;
  params: unknown;
  agentId: string;
  onBehalfOfId: string | null;
  createdAt: string;
  expiresAt: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  outcome: string | null;
}

/** The request for a webhook: what an AUDITOR may read of it, redacted values as markers. */
export function requestView(redactor: Redactor, request: ActionRequestRow): RequestView {
  return {
    id: request.id,
    action: request.action,
    resource: request.resource,
    status: request.status,
    reason: request.reason,
    params: redactor.mask(request.amendedParams ?? request.params, 'params', request.redactPaths),
    agentId: request.agentId,
    onBehalfOfId: request.onBehalfOfId,
    createdAt: request.createdAt.toISOString(),
    expiresAt: request.expiresAt?.toISOString() ?? null,
    decidedAt: request.decidedAt?.toISOString() ?? null,
    decidedBy: request.decidedBy,
    decisionReason: request.decisionReason,
    outcome: request.outcome,
  };
}

/** The body of every delivery of one audit event as one webhook event. */
export function webhookBody(
  type: WebhookEvent,
  event: AuditEventRow & { seq: number },
  request: RequestView | null,
  publicUrl: string | undefined,
): WebhookBody {
  const view = request?.status === 'PENDING' ? 'inbox' : 'history';
  return {
    type,
    timestamp: event.createdAt.toISOString(),
    data: {
      event: { seq: event.seq, type: event.type, actorId: event.actorId, data: event.data },
      ...(request ? { request } : {}),
      ...(publicUrl ? { consoleUrl: `${publicUrl}/console/#${request ? view : 'audit'}` } : {}),
    },
  };
}

/**
 * Slack's mrkdwn treats `&`, `<` and `>` as markup (links, @channel) and a newline as a new
 * line: an agent's text gets none of that (escaped, on one line), and every text object is
 * `verbatim`, so Slack neither links URLs nor parses mentions in it.
 */
const escapeSlack = (text: string) =>
  text
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });
const field = (label: string, value: string) => mrkdwn(`*${label}*\n${escapeSlack(value).slice(0, 1_900)}`);

/** A Slack incoming-webhook message for a delivery: what, where, who, why, deadline, and a button to the console. */
export function slackMessage(body: WebhookBody): Record<string, unknown> {
  const request = body.data.request;
  const headline = request ? `${body.type}: ${request.action} on ${request.resource}` : `${body.type} (${body.data.event.type})`;
  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${escapeSlack(headline).slice(0, 2_900)}*` } },
  ];
  if (request) {
    blocks.push({
      type: 'section',
      fields: [
        field('What', request.action),
        field('Where', request.resource),
        field('Who', `agent ${request.agentId}${request.onBehalfOfId ? ` for ${request.onBehalfOfId}` : ''}`),
        field('Why', request.reason ?? request.decisionReason ?? '(no reason given)'),
        field('Deadline', request.expiresAt ?? '(none)'),
        field('Status', request.status),
      ],
    });
  }
  if (body.data.consoleUrl) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Greenlight' }, url: body.data.consoleUrl }],
    });
  }
  return { text: escapeSlack(headline).slice(0, 2_900), blocks };
}

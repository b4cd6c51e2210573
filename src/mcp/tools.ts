import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { GreenlightClient } from '../client/client.js';
import type { Decision } from '../client/decision.js';

/** The longest one `wait_for_decision` call waits: under the usual 60 s tool-call timeout of MCP clients. */
export const MAX_WAIT_SECONDS = 55;

const STATUSES = ['APPROVED', 'BLOCKED', 'PENDING', 'REJECTED', 'EXPIRED', 'CANCELLED'] as const;

const DecisionOutput = {
  status: z.enum(STATUSES).describe('APPROVED: act now, with approvedParams. PENDING: wait_for_decision. Anything else: do not act.'),
  requestId: z.string().describe('The request id: keep it to wait, cancel or report the outcome.'),
  reason: z.string().nullable().describe("The decider's words: the blocking rule's reason, the reviewer's comment."),
  modelMessage: z.string().describe('What happened, who decided, and whether asking again makes sense.'),
  approvedParams: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('Once APPROVED: the params to act with (a reviewer may have changed them).'),
  receipt: z.string().nullable().describe('Once APPROVED: a signed receipt to hand to the system that executes the action.'),
  validUntil: z.string().nullable().describe('Once APPROVED: act and report the outcome before this instant.'),
  expiresAt: z.string().nullable().describe('While PENDING: when the review deadline passes.'),
  retryAfterMs: z.number().int().optional().describe('While PENDING after a wait: call wait_for_decision again after this long.'),
};

const RequestId = z.string().min(1).max(100).describe('The id returned by request_action.');

/** A decision as a tool result: a normal result whatever the status (a denial is not a failed call). */
function decisionResult(decision: Decision, extra: { retryAfterMs?: number } = {}): CallToolResult {
  const structured = {
    status: decision.status,
    requestId: decision.requestId,
    reason: decision.reason,
    modelMessage: decision.modelMessage,
    approvedParams: decision.approvedParams,
    receipt: decision.receipt,
    validUntil: decision.request.validUntil,
    expiresAt: decision.request.expiresAt,
    ...extra,
  };
  return { content: [{ type: 'text', text: `${decision.modelMessage}\n${JSON.stringify(structured)}` }], structuredContent: structured };
}

/** A failure of the call itself (bad input, bad token, server unreachable): the only `isError` results. */
async function failures(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    return { isError: true, content: [{ type: 'text', text: code ? `${code}: ${message}` : message }] };
  }
}

/**
 * Greenlight's tools on an MCP server, each a call through the SDK client (which carries the
 * caller's token): ask before acting, wait for the decision in bounded steps, cancel, report.
 */
export function createMcpServer(client: GreenlightClient, version: string): McpServer {
  const server = new McpServer(
    { name: 'greenlight', version },
    {
      instructions:
        'Before any risky action, call request_action. Act only when status is APPROVED, with approvedParams, then call report_action_outcome. On PENDING call wait_for_decision with the requestId until it is decided. On BLOCKED, REJECTED, EXPIRED or CANCELLED do not act: follow modelMessage.',
    },
  );

  server.registerTool(
    'request_action',
    {
      title: 'Ask before acting',
      description:
        'Asks Greenlight for permission to perform one action on one resource. The policy answers at once (APPROVED or BLOCKED) or sends it to human reviewers (PENDING: then call wait_for_decision). A BLOCKED or REJECTED answer is a normal result: do not act, and tell the user modelMessage.',
      inputSchema: {
        action: z.string().min(1).max(200).describe('What you want to do, e.g. deploy.update.'),
        resource: z.string().min(1).max(1_000).describe('What it acts on, e.g. prod/payments-api.'),
        params: z.record(z.string(), z.unknown()).optional().describe('The exact parameters you will use.'),
        reason: z.string().max(2_000).optional().describe('Why you need to act; shown to reviewers.'),
        idempotencyKey: z.string().max(255).optional().describe('Makes retries safe: the same key returns the same request.'),
        onBehalfOf: z.string().max(100).optional().describe('The id of the human you act for.'),
      },
      outputSchema: DecisionOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (input) => failures(async () => decisionResult(await client.requestAction(input))),
  );

  server.registerTool(
    'get_action_request',
    {
      title: 'Look at a request',
      description: 'Where one of your requests stands now, without waiting.',
      inputSchema: { requestId: RequestId },
      outputSchema: DecisionOutput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ requestId }) => failures(async () => decisionResult(await client.getDecision(requestId))),
  );

  server.registerTool(
    'wait_for_decision',
    {
      title: 'Wait for the reviewers',
      description: `Waits up to ${MAX_WAIT_SECONDS} seconds for reviewers to decide a PENDING request, and answers at once when it is decided. Still PENDING afterwards: call it again after retryAfterMs.`,
      inputSchema: {
        requestId: RequestId,
        timeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(MAX_WAIT_SECONDS)
          .optional()
          .describe(`How long to wait (default ${MAX_WAIT_SECONDS}).`),
      },
      outputSchema: DecisionOutput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ requestId, timeoutSeconds }, extra) =>
      failures(async () => {
        const timeoutMs = (timeoutSeconds ?? MAX_WAIT_SECONDS) * 1_000;
        const decision = await client.waitForDecision(requestId, { timeoutMs, signal: extra.signal });
        return decisionResult(decision, decision.status === 'PENDING' ? { retryAfterMs: 1_000 } : {});
      }),
  );

  server.registerTool(
    'cancel_action_request',
    {
      title: 'Withdraw a request',
      description: 'Withdraws one of your PENDING requests (you no longer need to act). It ends CANCELLED.',
      inputSchema: { requestId: RequestId, reason: z.string().max(2_000).optional().describe('Why, for reviewers and the audit log.') },
      outputSchema: DecisionOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ requestId, reason }) => failures(async () => decisionResult(await client.cancel(requestId, reason))),
  );

  server.registerTool(
    'report_action_outcome',
    {
      title: 'Report what happened',
      description: 'After performing an APPROVED action: records whether it SUCCEEDED or FAILED, once, before validUntil.',
      inputSchema: {
        requestId: RequestId,
        outcome: z.enum(['SUCCEEDED', 'FAILED']).describe('Whether the action worked.'),
        detail: z.string().max(4_000).optional().describe('An error message, a deploy id: anything auditors should know.'),
      },
      outputSchema: { requestId: z.string(), outcome: z.enum(['SUCCEEDED', 'FAILED']), recorded: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ requestId, outcome, detail }) =>
      failures(async () => {
        await client.reportOutcome({ requestId, outcome, ...(detail ? { detail } : {}) });
        const structured = { requestId, outcome, recorded: true };
        return {
          content: [{ type: 'text', text: `Outcome ${outcome} recorded for request ${requestId}.` }],
          structuredContent: structured,
        };
      }),
  );
  return server;
}

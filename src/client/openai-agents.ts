/**
 * `greenlight/client/openai-agents`: Greenlight as the approver of OpenAI Agents JS tools, through
 * the framework's own `needsApproval` interruptions and `RunState` resume. Only types come from
 * `@openai/agents-core` (an optional peer dependency).
 *
 * - `guard(toolName, options)` wraps a tool's options for `tool()`: when the model calls it,
 *   `needsApproval` asks Greenlight (one request per tool call: the call id is the idempotency
 *   key); the run is interrupted unless the policy approved at once. `execute` runs only on an
 *   APPROVED request, with the approved params, and reports the outcome.
 * - `resolve(state)` settles the run's interruptions from Greenlight's decisions: approved calls
 *   are approved, the others rejected with their `modelMessage`, the ones still pending returned.
 *   Then `run(agent, state)` goes on. With `wait: false` it answers at once, so a run can be
 *   saved (`state.toString()`) and resumed from it in another process.
 */
import type { RunState, RunToolApprovalItem } from '@openai/agents-core';
import type { GreenlightClient } from './client.js';
import type { Decision } from './decision.js';
import { ActionNotApprovedError, GreenlightError } from './errors.js';
import type { RequestActionInput } from './generated/graphql.js';
import { paramsChangedMessage, sameParams, withOwnValues } from './params.js';
import type { WaitOptions } from './wait.js';

/** How a tool's input becomes the request Greenlight decides. */
export interface GreenlightToolPolicy<INPUT = any> {
  action: string | ((input: INPUT) => string);
  resource: (input: INPUT) => string;
  /** The params reviewers approve; by default the tool's input, and then the tool runs with the approved params. */
  params?: (input: INPUT) => Record<string, unknown>;
  reason?: (input: INPUT) => string | undefined;
}

type ToolCallDetails = { toolCall?: { callId?: string } };
type ToolOptionsLike = { name: string; execute: (input: any, context?: any, details?: any) => unknown };

const KEY_PREFIX = 'openai-agents:';

export interface GreenlightApprovals {
  /** The tool's options with `needsApproval` and `execute` going through Greenlight; pass them to `tool()`. */
  guard<T extends ToolOptionsLike>(options: T): T;
  /** Approves or rejects the run's interruptions from Greenlight's decisions; returns the ones still PENDING. */
  resolve(state: RunState<any, any>, options?: WaitOptions & { wait?: boolean }): Promise<{ pending: Decision[] }>;
}

export function greenlightApprovals(client: GreenlightClient, policies: Record<string, GreenlightToolPolicy>): GreenlightApprovals {
  const requestFor = (toolName: string, input: unknown, callId: string | undefined): RequestActionInput => {
    const policy = policies[toolName];
    if (!policy) throw new TypeError(`No Greenlight policy for the tool ${toolName}.`);
    if (!callId) throw new TypeError(`The tool call of ${toolName} has no call id: Greenlight needs one per call.`);
    const reason = policy.reason?.(input);
    return {
      action: typeof policy.action === 'function' ? policy.action(input) : policy.action,
      resource: policy.resource(input),
      params: policy.params ? policy.params(input) : (input as Record<string, unknown>),
      idempotencyKey: `${KEY_PREFIX}${callId}`,
      ...(reason ? { reason } : {}),
    };
  };

  /**
   * The request of one tool call: made on the first ask, the same request on every later ask (the
   * call id is its idempotency key). Null when this call's input is not what was asked for then:
   * such a call is never approved.
   */
  const ask = async (request: RequestActionInput): Promise<Decision | null> => {
    try {
      return await client.requestAction(request, { timeoutMs: 0 });
    } catch (error) {
      if (error instanceof GreenlightError && error.code === 'IdempotencyConflictError') return null;
      throw error;
    }
  };
  const CHANGED_INPUT =
    'The tool was not run: its input is not what Greenlight was asked to approve for this call. Call the tool again to ask anew.';

  return {
    guard(options) {
      const execute = options.execute;
      return {
        ...options,
        needsApproval: async (_context: unknown, input: unknown, callId?: string) =>
          (await ask(requestFor(options.name, input, callId)))?.status !== 'APPROVED',
        execute: async (input: unknown, context?: unknown, details?: ToolCallDetails) => {
          // The same request again: the tool runs only if Greenlight approved this very input, whatever the run state says.
          const request = requestFor(options.name, input, details?.toolCall?.callId);
          const decision = await ask(request);
          if (!decision) return CHANGED_INPUT;
          const mapped = policies[options.name]!.params;
          const approved = decision.approvedParams && withOwnValues(decision.approvedParams, request.params);
          if (decision.status === 'APPROVED' && mapped && !sameParams(approved, request.params)) {
            return paramsChangedMessage(request.action, request.resource, decision.requestId, decision.approvedParams);
          }
          try {
            return await client.resume(decision.requestId, (approvedParams) => execute(mapped ? input : approvedParams, context, details), {
              params: request.params as Record<string, unknown>,
            });
          } catch (error) {
            if (error instanceof ActionNotApprovedError) return error.modelMessage;
            throw error;
          }
        },
      };
    },

    async resolve(state, options = {}) {
      const pending: Decision[] = [];
      for (const item of state.getInterruptions() as RunToolApprovalItem[]) {
        const name = item.name;
        if (!name || !policies[name]) continue; // not a Greenlight tool: the application decides it
        const callId = (item.rawItem as { callId?: string }).callId;
        const asked = await ask(requestFor(name, JSON.parse(item.arguments ?? '{}'), callId));
        if (!asked) {
          state.reject(item, { message: CHANGED_INPUT });
          continue;
        }
        const decision =
          asked.status === 'PENDING' && options.wait !== false ? await client.waitForDecision(asked.requestId, options) : asked;
        if (decision.status === 'APPROVED') state.approve(item);
        else if (decision.status === 'PENDING') pending.push(decision);
        else state.reject(item, { message: decision.modelMessage });
      }
      return { pending };
    },
  };
}

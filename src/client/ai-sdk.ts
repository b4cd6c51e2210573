/**
 * `greenlight/client/ai-sdk`: puts a Vercel AI SDK tool behind Greenlight. The wrapped tool asks
 * before it runs; it runs only once approved (with the params a reviewer may have changed), and
 * its outcome is reported. Any other decision is the tool's result instead, carrying the
 * `modelMessage` the model should read. Only types come from `ai` (an optional peer dependency).
 */
import type { Tool, ToolExecutionOptions } from 'ai';
import type { GreenlightClient } from './client.js';
import { ActionNotApprovedError } from './errors.js';
import type { ActionStatus } from './generated/graphql.js';
import { paramsChangedMessage, sameParams, withOwnValues } from './params.js';

/** What a guarded tool returns to the model when it did not run. */
export interface GreenlightToolDenial {
  greenlight: { status: ActionStatus; requestId: string; reason: string | null };
  /** What happened, who decided, and whether asking again makes sense. */
  modelMessage: string;
}

export interface GuardToolOptions<INPUT> {
  /** The action to ask for, e.g. `deploy.update`; or computed from the tool's input. */
  action: string | ((input: INPUT) => string);
  /** The resource it acts on, from the tool's input. */
  resource: (input: INPUT) => string;
  /**
   * The params reviewers see and approve. By default the tool's input itself: then the tool runs
   * with the approved params (a reviewer may change them). With a mapping, it runs with its input.
   */
  params?: (input: INPUT) => Record<string, unknown>;
  /** Why, for reviewers, from the tool's input. */
  reason?: (input: INPUT) => string | undefined;
}

/** The tool, unchanged but for `execute`, which now asks Greenlight first. */
export function guardTool<INPUT, OUTPUT>(
  client: GreenlightClient,
  tool: Tool<INPUT, OUTPUT>,
  options: GuardToolOptions<INPUT>,
): Tool<INPUT, OUTPUT | GreenlightToolDenial> {
  const execute = tool.execute as ((input: INPUT, options: ToolExecutionOptions) => PromiseLike<OUTPUT> | OUTPUT) | undefined;
  if (!execute) throw new TypeError('guardTool needs a tool with an execute function.');
  const guarded = async (input: INPUT, executionOptions: ToolExecutionOptions): Promise<OUTPUT | GreenlightToolDenial> => {
    const action = typeof options.action === 'function' ? options.action(input) : options.action;
    const params = options.params ? options.params(input) : (input as Record<string, unknown>);
    const reason = options.reason?.(input);
    const request = { action, resource: options.resource(input), params, ...(reason ? { reason } : {}) };
    const signal = executionOptions.abortSignal ? { signal: executionOptions.abortSignal } : {};
    const denial = (error: ActionNotApprovedError): GreenlightToolDenial => ({
      greenlight: { status: error.decision.status, requestId: error.requestId, reason: error.reason },
      modelMessage: error.modelMessage,
    });
    try {
      const decision = await client.requestAction(request, signal);
      // With a params mapping the tool runs with its own input: only if that is what was approved.
      const approved = decision.approvedParams && withOwnValues(decision.approvedParams, params);
      if (decision.status === 'APPROVED' && options.params && !sameParams(approved, params)) {
        return {
          greenlight: { status: decision.status, requestId: decision.requestId, reason: decision.reason },
          modelMessage: paramsChangedMessage(action, request.resource, decision.requestId, decision.approvedParams),
        };
      }
      return await client.resume<OUTPUT>(
        decision.requestId,
        async (approvedParams) => execute(options.params ? input : (approvedParams as INPUT), executionOptions),
        { ...signal, params },
      );
    } catch (error) {
      if (error instanceof ActionNotApprovedError) return denial(error);
      throw error;
    }
  };
  return { ...tool, execute: guarded } as Tool<INPUT, OUTPUT | GreenlightToolDenial>;
}

import { evaluateRequest, evaluationInputFor } from '../approvals/evaluation.js';
import { RequestActionInput } from '../approvals/request-action.js';
import { authorize, can, Permission } from '../auth/permissions.js';
import { getPrincipalsByIds } from '../auth/principals.js';
import type { Principal } from '../auth/roles.js';
import type { Deps } from '../deps.js';
import { InvalidInputError, NotAllowedError, NotFoundError } from '../errors.js';
import type { Evaluation, PolicyDocument } from '../policy/index.js';
import { isUuid } from '../validation.js';
import { parseInput } from '../validation.js';
import { compileDraft } from './draft.js';

const SimulateInput = RequestActionInput.pick({
  action: true,
  resource: true,
  params: true,
  reason: true,
  context: true,
  onBehalfOf: true,
});

export interface SimulateActionInput {
  action: string;
  resource: string;
  params?: Record<string, unknown> | null | undefined;
  reason?: string | null | undefined;
  context?: Record<string, string> | null | undefined;
  onBehalfOf?: string | null | undefined;
  /** Evaluate as this agent (ADMIN only); default: the caller, who must then be an agent. */
  agentId?: string | null | undefined;
  /** Evaluate at this instant (business-hours rules); default: now. */
  now?: Date | null | undefined;
  /** Evaluate against this draft instead of the active policy. */
  draft?: PolicyDocument | null | undefined;
}

async function principalById(deps: Deps, id: string, field: string): Promise<Principal> {
  const [principal] = isUuid(id) ? await getPrincipalsByIds(deps.db, [id]) : [];
  if (!principal) throw new NotFoundError('Principal', id);
  if (field === 'agentId' && principal.kind !== 'AGENT') throw InvalidInputError.of(field, 'must be the id of an agent');
  if (field === 'onBehalfOf' && principal.kind !== 'HUMAN') throw InvalidInputError.of(field, 'must be the id of a human principal');
  return principal;
}

/**
 * A dry run: how the active policy (or a draft) would decide this request right now, or at a
 * given instant, for a given agent. Rate limits see the agent's real recent requests. Writes
 * nothing.
 */
export async function simulateAction(deps: Deps, viewer: Principal, raw: SimulateActionInput): Promise<Evaluation> {
  const input = parseInput(SimulateInput, raw);

  let agent = viewer;
  if (raw.agentId && raw.agentId !== viewer.id) {
    authorize(viewer, Permission.SimulateAnyAction);
    agent = await principalById(deps, raw.agentId, 'agentId');
  } else if (!can(viewer, Permission.RequestAction)) {
    throw new NotAllowedError('Simulate as an agent: pass agentId (ADMIN only), or call as the agent itself.');
  }
  // Drafts carry CEL written by the caller; only administrators may run their own conditions.
  if (raw.draft) authorize(viewer, Permission.SimulateAnyAction);
  const onBehalfOf = input.onBehalfOf ? await principalById(deps, input.onBehalfOf, 'onBehalfOf') : null;
  const policy = raw.draft ? compileDraft(raw.draft) : await deps.policies.fresh(deps.db);
  return evaluateRequest(deps.db, policy, evaluationInputFor(agent, onBehalfOf, input, raw.now ?? deps.clock.now()), { lock: false });
}

import { can, Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/roles.js';
import type { ActionRequestRow } from '../db/schema.js';
import type { RequestParty } from '../vocabulary.js';

type RequestParties = Pick<ActionRequestRow, 'agentId' | 'onBehalfOfId' | 'ownerId' | 'effect' | 'requiredGroups'>;

/**
 * Which party to the request `viewer` is, if any. Parties may never review it: the agent that
 * asked, any other agent, the agent's owner and the human the agent acts for.
 */
export function partyOf(viewer: Principal, request: Pick<RequestParties, 'agentId' | 'onBehalfOfId' | 'ownerId'>): RequestParty | null {
  if (viewer.id === request.agentId) return 'REQUESTING_AGENT';
  if (viewer.kind !== 'HUMAN') return 'AGENT';
  if (viewer.id === request.ownerId) return 'OWNER';
  if (viewer.id === request.onBehalfOfId) return 'ON_BEHALF_OF';
  return null;
}

/**
 * Why `viewer` may not review `request`, or null when it may (whatever the request's status).
 * Reviews are by humans with the REVIEWER role, in one of the required groups when the policy
 * names any, and never by a party to the request. `requiredGroups` may be given to judge the
 * request as it stood at some point (an escalation step widens it).
 */
export function reviewDenial(viewer: Principal, request: RequestParties, requiredGroups = request.requiredGroups): string | null {
  if (partyOf(viewer, request) !== null)
    return 'Parties to a request (its agent, any agent, its owner, the human it acts for) cannot review it.';
  if (!can(viewer, Permission.ReviewAction)) return 'Reviewing needs an enabled human with the REVIEWER role.';
  if (request.effect !== 'ESCALATE') return 'This request was decided by policy and has nothing to review.';
  if (requiredGroups.length > 0 && !requiredGroups.some((group) => viewer.groups.includes(group))) {
    return `This request needs a reviewer from ${requiredGroups.join(' or ')}.`;
  }
  return null;
}

/** Whether `viewer` may see `request` at all: its parties, its reviewers, auditors and admins. */
export function canView(viewer: Principal, request: RequestParties): boolean {
  if (can(viewer, Permission.ReadAudit)) return true;
  if (viewer.id === request.agentId || viewer.id === request.onBehalfOfId || viewer.id === request.ownerId) return true;
  return reviewDenial(viewer, request) === null;
}

import type { Principal } from '../auth/roles.js';
import { hasRole } from '../auth/roles.js';
import type { ActionRequestRow } from '../db/schema.js';

type RequestParties = Pick<ActionRequestRow, 'agentId' | 'onBehalfOfId' | 'effect' | 'requiredGroups'>;

/**
 * Why `viewer` may not review `request`, or null when it may (whatever the request's status).
 * Reviews are by humans with the REVIEWER role, in one of the required groups when the policy
 * names any, and never by a party to the request.
 */
export function reviewDenial(viewer: Principal, request: RequestParties): string | null {
  if (viewer.kind !== 'HUMAN') return 'Only humans can review action requests.';
  if (!hasRole(viewer, 'REVIEWER')) return 'Reviewing needs the REVIEWER role.';
  if (request.effect !== 'ESCALATE') return 'This request was decided by policy and has nothing to review.';
  if (viewer.id === request.agentId || viewer.id === request.onBehalfOfId) {
    return 'You cannot review a request made by you or on your behalf.';
  }
  if (request.requiredGroups.length > 0 && !request.requiredGroups.some((group) => viewer.groups.includes(group))) {
    return `This request needs a reviewer from ${request.requiredGroups.join(' or ')}.`;
  }
  return null;
}

/** Whether `viewer` may see `request` at all: its parties, its reviewers, auditors and admins. */
export function canView(viewer: Principal, request: RequestParties): boolean {
  if (hasRole(viewer, 'ADMIN', 'AUDITOR')) return true;
  if (viewer.id === request.agentId || viewer.id === request.onBehalfOfId) return true;
  return reviewDenial(viewer, request) === null;
}

import type { ActionStatus, HistoryItemFragment } from '../generated/graphql.js';

/** Every status a request may leave PENDING for: what the history lists. */
export const DECIDED: ActionStatus[] = ['APPROVED', 'REJECTED', 'BLOCKED', 'EXPIRED', 'CANCELLED'];

/** What decided a request, in words, with the person when one did (the name is rendered apart, through `Text`). */
export function decidedByWords(request: HistoryItemFragment): { what: string; person: string | null } {
  const person = request.decider?.name ?? null;
  switch (request.decidedBy) {
    case 'POLICY':
      return { what: 'the policy, at request time', person: null };
    case 'REVIEWER':
      return { what: person ? 'reviewer' : 'reviewers', person };
    case 'ADMIN':
      return { what: request.overridden ? 'administrator override (break-glass)' : 'administrator', person };
    case 'REQUESTER':
      return { what: 'the agent, which cancelled it', person: null };
    case 'TIMEOUT':
      return { what: 'the review deadline, which passed', person: null };
    default:
      return { what: 'not recorded', person };
  }
}

/** Milliseconds from the request to its decision; null while undecided. */
export const decisionTime = (request: Pick<HistoryItemFragment, 'createdAt' | 'decidedAt'>): number | null =>
  request.decidedAt ? Date.parse(request.decidedAt) - Date.parse(request.createdAt) : null;

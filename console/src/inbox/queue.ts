import type { InboxFeedSubscription, LeftQueueFragment, PendingItemFragment } from '../generated/graphql.js';

export type Item = PendingItemFragment;
export type QueueEvent = InboxFeedSubscription['pendingApprovals'];

/** A short note on a request that left the inbox, shown for a while in its place. */
export interface Departure {
  id: string;
  text: string;
}

export interface QueueState {
  /** Pending requests, oldest first. */
  items: Item[];
  /** What happened to the requests that left, newest first (at most `MAX_DEPARTURES`). */
  departed: Departure[];
}

export const MAX_DEPARTURES = 20;
export const emptyQueue: QueueState = { items: [], departed: [] };

const byAge = (a: Item, b: Item) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

/** What happened to a request that left PENDING, in a few words (`you` is the viewer's principal id). */
export function departureText(request: LeftQueueFragment, you: string): string {
  const what = `${request.action} on ${request.resource} (${request.agent.name})`;
  const who = request.decider?.name ?? null;
  const why = request.decisionReason ? `: “${request.decisionReason}”` : '';
  const yours = request.decider?.id === you;
  switch (request.status) {
    case 'APPROVED':
    case 'REJECTED': {
      const verdict = request.status === 'APPROVED' ? 'approved' : 'rejected';
      if (request.overridden) return `${what} was ${verdict} by an administrator's override${who ? ` (${who})` : ''}${why}.`;
      if (yours) return `You ${verdict} ${what}.`;
      if (request.decidedBy === 'TIMEOUT') return `${what} was rejected: its deadline passed.`;
      return `${what} was ${verdict} by ${who ?? 'another reviewer'}${why}.`;
    }
    case 'EXPIRED':
      return `${what} expired: nobody decided before its deadline.`;
    case 'CANCELLED':
      return `${what} was cancelled by its agent${why}.`;
    default:
      return `${what} left the queue (${request.status.toLowerCase()}).`;
  }
}

/** Inserts or replaces an item, keeping the oldest first. */
export function upsert(state: QueueState, item: Item): QueueState {
  const items = state.items.filter((existing) => existing.id !== item.id);
  items.push(item);
  items.sort(byAge);
  return { ...state, items };
}

/** Takes an item out, with the note of what happened to it. */
export function remove(state: QueueState, id: string, text: string | null): QueueState {
  if (!state.items.some((item) => item.id === id) && text === null) return state;
  const items = state.items.filter((item) => item.id !== id);
  const departed = text ? [{ id, text }, ...state.departed.filter((note) => note.id !== id)].slice(0, MAX_DEPARTURES) : state.departed;
  return { items, departed };
}

/**
 * One change of the live queue. ADDED may repeat a request the snapshot already holds (the
 * stream starts where the snapshot was read): it replaces it. UPDATED only refreshes a request
 * in the inbox. REMOVED takes it out with a note, once.
 */
export function applyEvent(state: QueueState, event: QueueEvent, you: string): QueueState {
  const { request } = event;
  const present = state.items.some((item) => item.id === request.id);
  if (event.kind === 'ADDED') return request.status === 'PENDING' ? upsert(state, request) : state;
  if (event.kind === 'UPDATED') return present && request.status === 'PENDING' ? upsert(state, request) : state;
  return present ? remove(state, request.id, departureText(request, you)) : state;
}

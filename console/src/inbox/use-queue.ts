import { useEffect, useState } from 'preact/hooks';
import { follow } from '../api.js';
import {
  InboxFeedDocument,
  InboxItemDocument,
  InboxSnapshotDocument,
  type InboxSnapshotQuery,
  type LeftQueueFragment,
} from '../generated/graphql.js';
import { useSession } from '../session.js';
import { applyEvent, departureText, emptyQueue, remove, upsert, type Item, type QueueState } from './queue.js';

/** Whether the inbox is following the queue: `reconnecting` while a dropped socket is reopened. */
export type FeedState = 'loading' | 'live' | 'reconnecting' | 'failed';

/** The snapshot is read in pages of 100 (the server's most); a queue longer than ten pages shows its oldest and says so. */
const PAGE_SIZE = 100;
const MAX_SNAPSHOT_PAGES = 10;

export interface Queue extends QueueState {
  feed: FeedState;
  error: unknown;
  /** More pending requests than the inbox holds. */
  truncated: boolean;
  /** Starts again from a fresh snapshot (after a failure). */
  reload(): void;
  /** Puts the server's latest view of a request in place: refreshed while it waits, else taken out with a note. */
  settle(request: Item | (LeftQueueFragment & Partial<Item>)): void;
  /** Changes some fields of a request still in the inbox (as it is now, not as a panel last rendered it). */
  patch(id: string, fields: Partial<Item>): void;
  /** Reads a request again (after a refusal) and settles it. */
  refresh(id: string): Promise<void>;
}

/**
 * The reviewer's queue: the `pendingApprovals` snapshot, then the subscription from its
 * `streamCursor`. A dropped socket is reopened and the subscription resumes from the last event
 * received, so nothing is missed and the inbox says `reconnecting` meanwhile.
 */
export function useQueue(): Queue {
  const session = useSession();
  const [state, setState] = useState<QueueState>(emptyQueue);
  const [feed, setFeed] = useState<FeedState>('loading');
  const [error, setError] = useState<unknown>(null);
  const [truncated, setTruncated] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const you = session.viewer.id;

  useEffect(() => {
    let stop = () => {};
    let cancelled = false;
    setFeed('loading');
    setError(null);
    (async () => {
      const items: Item[] = [];
      let streamCursor: string | null = null;
      let after: string | null = null;
      let more = false;
      for (let page = 0; page < MAX_SNAPSHOT_PAGES; page++) {
        const { pendingApprovals }: InboxSnapshotQuery = await session.run(InboxSnapshotDocument, { first: PAGE_SIZE, after });
        // The first page's position: every change after it is replayed, so later pages miss nothing.
        streamCursor ??= pendingApprovals.streamCursor;
        items.push(...pendingApprovals.edges.map((edge) => edge.node));
        more = pendingApprovals.pageInfo.hasNextPage;
        if (!more) break;
        after = pendingApprovals.pageInfo.endCursor;
      }
      if (cancelled) return;
      setState(items.reduce(upsert, emptyQueue));
      setTruncated(more);
      setFeed('live');
      stop = follow(session.transport, InboxFeedDocument, { after: streamCursor }, (data) => data.pendingApprovals.cursor, {
        next: (data) => setState((current) => applyEvent(current, data.pendingApprovals, you)),
        reconnecting: (dropped) => setFeed(dropped ? 'reconnecting' : 'live'),
        // The server ended the stream (it does not, while the session stands): stop showing it as live.
        completed: () => {
          setError(new Error('The server ended the queue stream.'));
          setFeed('failed');
        },
        failed: (failure, sessionRefused) => {
          if (sessionRefused) session.recheck();
          setError(failure);
          setFeed('failed');
        },
      });
    })().catch((failure: unknown) => {
      if (cancelled) return;
      setError(failure);
      setFeed('failed');
    });
    return () => {
      cancelled = true;
      stop();
    };
  }, [attempt]);

  const settle: Queue['settle'] = (request) =>
    setState((current) =>
      request.status === 'PENDING' && 'reviewRequirements' in request
        ? upsert(current, request as Item)
        : remove(current, request.id, 'decider' in request ? departureText(request, you) : null),
    );

  return {
    ...state,
    feed,
    error,
    truncated,
    reload: () => setAttempt((n) => n + 1),
    settle,
    patch: (id, fields) =>
      setState((current) => {
        const item = current.items.find((candidate) => candidate.id === id);
        return item ? upsert(current, { ...item, ...fields }) : current;
      }),
    async refresh(id) {
      const { actionRequest } = await session.run(InboxItemDocument, { id });
      if (actionRequest) settle(actionRequest);
      else setState((current) => remove(current, id, 'A request left your queue: you may no longer see it.'));
    },
  };
}

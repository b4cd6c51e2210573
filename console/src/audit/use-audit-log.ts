import { useEffect, useRef, useState } from 'preact/hooks';
import { follow } from '../api.js';
import {
  AuditHeadDocument,
  AuditPageDocument,
  AuditTailDocument,
  type AuditEventFilter,
  type AuditRowFragment,
} from '../generated/graphql.js';
import { useSession } from '../session.js';

export const PAGE_SIZE = 50;

/** Where the live tail is: following, paused by the reader, reconnecting after a dropped socket, or failed. */
export type TailState = 'starting' | 'live' | 'paused' | 'reconnecting' | 'failed';

export interface AuditLog {
  /** Newest first: events from the tail on top, then the sealed pages. */
  events: AuditRowFragment[];
  loading: boolean;
  error: unknown;
  /** The cursor of the next older page, null when the oldest event is shown. */
  olderCursor: string | null;
  loadingOlder: boolean;
  olderError: unknown;
  loadOlder(): void;
  tail: TailState;
  tailError: unknown;
  /** Follows again after a failure, from the last event received. */
  retryTail(): void;
}

/** Adds events not already shown (a tail replay may repeat what a page holds). */
function merge(shown: AuditRowFragment[], added: AuditRowFragment[], where: 'top' | 'bottom'): AuditRowFragment[] {
  const ids = new Set(shown.map((event) => event.id));
  const fresh = added.filter((event) => !ids.has(event.id));
  if (fresh.length === 0) return shown;
  return where === 'top' ? [...fresh, ...shown] : [...shown, ...fresh];
}

/**
 * The audit log under a filter: the newest sealed page, older pages on request, and a live tail
 * from the newest cursor. Pausing the tail keeps its cursor, so resuming replays what was
 * committed meanwhile: nothing is missed.
 */
export function useAuditLog(filter: AuditEventFilter, live: boolean): AuditLog {
  const session = useSession();
  const key = JSON.stringify(filter);
  const [events, setEvents] = useState<AuditRowFragment[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<unknown>(null);
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  const [tail, setTail] = useState<TailState>('starting');
  const [tailError, setTailError] = useState<unknown>(null);
  // The tail resumes after the last event it delivered (or the page's newest one).
  const tailCursor = useRef<string | null>(null);
  const currentKey = useRef(key);
  currentKey.current = key;
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let stale = false;
    setLoading(true);
    setError(null);
    setEvents([]);
    setOlderCursor(null);
    setOlderError(null);
    setLoadedKey(null);
    (async () => {
      // The head is read before the page, so the tail never starts after an event the page missed.
      const head = await session.run(AuditHeadDocument, {});
      const page = await session.run(AuditPageDocument, { filter, first: PAGE_SIZE });
      if (stale) return;
      const { edges, pageInfo } = page.auditEvents;
      setEvents(edges.map((edge) => edge.node));
      setOlderCursor(pageInfo.hasNextPage ? pageInfo.endCursor : null);
      tailCursor.current = edges[0]?.cursor ?? head.auditEvents.edges[0]?.cursor ?? null;
      setLoadedKey(key);
    })()
      .catch((failure: unknown) => !stale && setError(failure))
      .finally(() => !stale && setLoading(false));
    return () => {
      stale = true;
    };
  }, [key]);

  useEffect(() => {
    if (loadedKey !== key) {
      setTail('starting');
      return;
    }
    if (!live) {
      setTail('paused');
      return;
    }
    setTail('live');
    setTailError(null);
    let stopped = false;
    const stop = follow(session.transport, AuditTailDocument, { after: tailCursor.current, filter }, (data) => data.auditEvents.cursor, {
      next(data) {
        tailCursor.current = data.auditEvents.cursor;
        setEvents((shown) => merge(shown, [data.auditEvents], 'top'));
      },
      reconnecting: (dropped) => !stopped && setTail(dropped ? 'reconnecting' : 'live'),
      completed() {
        if (stopped) return;
        setTail('failed');
        setTailError(new Error('The server ended the live tail.'));
      },
      failed(failure, sessionRefused) {
        if (stopped) return;
        setTail('failed');
        setTailError(failure);
        if (sessionRefused) session.recheck();
      },
    });
    return () => {
      stopped = true;
      stop();
    };
  }, [loadedKey, live, attempt]);

  async function loadOlder() {
    if (!olderCursor || loadingOlder) return;
    setLoadingOlder(true);
    setOlderError(null);
    const from = key;
    try {
      const page = await session.run(AuditPageDocument, { filter, after: olderCursor, first: PAGE_SIZE });
      if (from !== currentKey.current) return;
      const { edges, pageInfo } = page.auditEvents;
      setEvents((shown) =>
        merge(
          shown,
          edges.map((edge) => edge.node),
          'bottom',
        ),
      );
      setOlderCursor(pageInfo.hasNextPage ? pageInfo.endCursor : null);
    } catch (failure) {
      setOlderError(failure);
    } finally {
      setLoadingOlder(false);
    }
  }

  return {
    events,
    loading,
    error,
    olderCursor,
    loadingOlder,
    olderError,
    loadOlder: () => void loadOlder(),
    tail,
    tailError,
    retryTail: () => setAttempt((n) => n + 1),
  };
}

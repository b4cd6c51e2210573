import { useEffect, useRef, useState } from 'preact/hooks';
import type { Verdict } from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import { BatchConfirm } from './batch.js';
import { InboxItem } from './item.js';
import { useShortcuts } from './shortcuts.js';
import { useQueue } from './use-queue.js';
import './inbox.css';

const FEED_LABEL = { loading: 'Loading…', live: 'Live', reconnecting: 'Reconnecting…', failed: 'Stopped' } as const;

/** Selected requests, each with the revision the reviewer saw when selecting it. */
type Selection = ReadonlyMap<string, number>;

/** The reviewer's live inbox: pending requests, oldest first, decided one by one or in a batch. */
export function InboxView() {
  const queue = useQueue();
  const [currentId, setCurrentId] = useState<string | null>(null);
  const [selected, setSelected] = useState<Selection>(new Map());
  const [batch, setBatch] = useState<{ verdict: Verdict; picks: Selection } | null>(null);
  const list = useRef<HTMLUListElement>(null);
  const lastIndex = useRef(0);

  // A request that left the queue leaves the selection too; the current one passes to the request
  // that took its place, and so does the focus if it was lost with it.
  useEffect(() => {
    const present = new Set(queue.items.map((item) => item.id));
    if ([...selected.keys()].some((id) => !present.has(id))) setSelected(new Map([...selected].filter(([id]) => present.has(id))));
    const index = queue.items.findIndex((item) => item.id === currentId);
    if (index >= 0) lastIndex.current = index;
    else if (queue.items.length > 0) {
      const next = queue.items[Math.min(lastIndex.current, queue.items.length - 1)]!;
      setCurrentId(next.id);
      if (currentId !== null && document.activeElement === document.body) {
        requestAnimationFrame(() => list.current?.querySelector<HTMLElement>(`[data-item="${CSS.escape(next.id)}"]`)?.focus());
      }
    }
  }, [queue.items]);

  const toggle = (id: string, on: boolean) => {
    const item = queue.items.find((candidate) => candidate.id === id);
    const next = new Map(selected);
    if (on && item) next.set(id, item.revision);
    else next.delete(id);
    setSelected(next);
  };

  useShortcuts(list, {
    items: queue.items,
    currentId,
    setCurrent: setCurrentId,
    toggleSelected: (id) => toggle(id, !selected.has(id)),
    enabled: batch === null,
  });

  const picked = batch ? queue.items.filter((item) => batch.picks.has(item.id)) : [];
  const unchanged = picked.filter((item) => batch!.picks.get(item.id) === item.revision);
  return (
    <section class="inbox" aria-labelledby="inbox-title">
      <div class="inbox-head">
        <h1 id="inbox-title">Inbox</h1>
        <span class={`feed feed-${queue.feed}`} role="status">
          {FEED_LABEL[queue.feed]}
        </span>
        <span class="muted">
          {queue.items.length} pending{queue.truncated ? ' (the oldest 1000 are shown)' : ''}
        </span>
      </div>
      <p class="shortcuts muted">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>a</kbd> approve · <kbd>r</kbd> reject · <kbd>c</kbd> comment (<kbd>Esc</kbd>{' '}
        leaves it) · <kbd>x</kbd> select
      </p>
      {queue.feed === 'reconnecting' && (
        <p class="notice card">
          The connection dropped: the inbox may be behind until it is back. Decisions are still checked by the server against the request as
          it is now.
        </p>
      )}
      {queue.feed === 'failed' && (
        <div class="card">
          <Problem error={queue.error} prefix="The inbox stopped" />
          <button type="button" onClick={queue.reload}>
            Reload the inbox
          </button>
        </div>
      )}
      <div role="log" aria-live="polite" aria-label="Requests that left the inbox" class="departed">
        {queue.departed.slice(0, 5).map((note) => (
          <p key={note.id} class="departure">
            <Text value={note.text} limit={400} />
          </p>
        ))}
      </div>
      {selected.size > 0 && !batch && (
        <div class="batch-bar card" role="toolbar" aria-label="Batch decision">
          <span>{selected.size} selected</span>
          <button type="button" onClick={() => setBatch({ verdict: 'APPROVE', picks: selected })}>
            Approve selected ({selected.size})
          </button>
          <button type="button" class="danger" onClick={() => setBatch({ verdict: 'REJECT', picks: selected })}>
            Reject selected ({selected.size})
          </button>
          <button type="button" class="secondary" onClick={() => setSelected(new Map())}>
            Clear selection
          </button>
        </div>
      )}
      {batch && (
        <BatchConfirm
          verdict={batch.verdict}
          items={unchanged}
          picks={batch.picks}
          changed={picked.length - unchanged.length}
          dropped={batch.picks.size - picked.length}
          queue={queue}
          onDone={() => {
            setBatch(null);
            setSelected(new Map());
          }}
        />
      )}
      {queue.feed !== 'loading' && queue.items.length === 0 && (
        <p class="empty">Nothing waits for you. New requests appear here as they arrive.</p>
      )}
      <ul class="items" ref={list}>
        {queue.items.map((item) => (
          <InboxItem
            key={item.id}
            item={item}
            queue={queue}
            current={item.id === currentId}
            selected={selected.has(item.id)}
            onSelect={(on) => toggle(item.id, on)}
            onFocus={() => setCurrentId(item.id)}
          />
        ))}
      </ul>
    </section>
  );
}

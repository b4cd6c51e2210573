import { useEffect, useRef, useState } from 'preact/hooks';
import type { Verdict } from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { BatchConfirm } from './batch.js';
import { InboxItem } from './item.js';
import { useShortcuts } from './shortcuts.js';
import { useQueue } from './use-queue.js';
import './inbox.css';

const FEED_LABEL = { loading: 'Loading…', live: 'Live', reconnecting: 'Reconnecting…', failed: 'Stopped' } as const;

/** The reviewer's live inbox: pending requests, oldest first, decided one by one or in a batch. */
export function InboxView() {
  const queue = useQueue();
  const [current, setCurrent] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [batch, setBatch] = useState<{ verdict: Verdict; ids: string[] } | null>(null);
  const list = useRef<HTMLUListElement>(null);

  // A request that left the queue leaves the selection too.
  useEffect(() => {
    const present = new Set(queue.items.map((item) => item.id));
    if ([...selected].some((id) => !present.has(id))) setSelected(new Set([...selected].filter((id) => present.has(id))));
    if (current >= queue.items.length && queue.items.length > 0) setCurrent(queue.items.length - 1);
  }, [queue.items]);

  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };

  useShortcuts(list, queue.items, current, setCurrent, (id) => toggle(id, !selected.has(id)));

  const inBatch = batch ? queue.items.filter((item) => batch.ids.includes(item.id)) : [];
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
            {note.text}
          </p>
        ))}
      </div>
      {selected.size > 0 && !batch && (
        <div class="batch-bar card" role="toolbar" aria-label="Batch decision">
          <span>{selected.size} selected</span>
          <button type="button" onClick={() => setBatch({ verdict: 'APPROVE', ids: [...selected] })}>
            Approve selected ({selected.size})
          </button>
          <button type="button" class="danger" onClick={() => setBatch({ verdict: 'REJECT', ids: [...selected] })}>
            Reject selected ({selected.size})
          </button>
          <button type="button" class="secondary" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      )}
      {batch && (
        <BatchConfirm
          verdict={batch.verdict}
          items={inBatch}
          dropped={batch.ids.length - inBatch.length}
          queue={queue}
          onDone={() => {
            setBatch(null);
            setSelected(new Set());
          }}
        />
      )}
      {queue.feed !== 'loading' && queue.items.length === 0 && (
        <p class="empty">Nothing waits for you. New requests appear here as they arrive.</p>
      )}
      <ul class="items" ref={list}>
        {queue.items.map((item, index) => (
          <InboxItem
            key={item.id}
            item={item}
            queue={queue}
            current={index === current}
            selected={selected.has(item.id)}
            onSelect={(on) => toggle(item.id, on)}
            onFocus={() => setCurrent(index)}
          />
        ))}
      </ul>
    </section>
  );
}

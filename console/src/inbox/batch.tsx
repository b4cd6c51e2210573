import { useEffect, useRef, useState } from 'preact/hooks';
import { InboxDecideManyDocument, type Verdict } from '../generated/graphql.js';
import { useSession } from '../session.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import type { Item } from './queue.js';
import type { Queue } from './use-queue.js';

interface Props {
  verdict: Verdict;
  /** The selected requests still in the queue as they were selected: one decided or changed elsewhere meanwhile drops out. */
  items: Item[];
  /** The revision of each request when it was selected: the decision is refused if it changed since. */
  picks: ReadonlyMap<string, number>;
  /** How many selected requests left the queue since they were selected. */
  dropped: number;
  /** How many selected requests had their params changed since they were selected (review them again). */
  changed: number;
  queue: Queue;
  onDone: () => void;
}

interface Result {
  id: string;
  label: string;
  text: string;
  ok: boolean;
}

/**
 * A batch decision: the confirmation lists every request it will decide, with one comment for
 * all. Each is decided on its own (one refusal does not undo the others) and the result of each
 * is shown. Never changed params, never a standing approval.
 */
export function BatchConfirm({ verdict, items, picks, dropped, changed, queue, onDone }: Props) {
  const session = useSession();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<Result[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const word = verdict === 'APPROVE' ? 'Approve' : 'Reject';
  const commentField = useRef<HTMLTextAreaElement>(null);
  // The dialog takes the focus when it opens.
  useEffect(() => commentField.current?.focus(), []);

  async function confirm() {
    setBusy(true);
    setProblem(null);
    const decided = items;
    try {
      const { decideActions } = await session.run(InboxDecideManyDocument, {
        input: {
          decisions: decided.map((item) => ({
            requestId: item.id,
            verdict,
            revision: picks.get(item.id)!,
            comment: comment.trim() || null,
          })),
        },
      });
      setResults(
        decideActions.results.map((result) => {
          const item = decided.find((candidate) => candidate.id === result.requestId);
          const label = item ? `${item.action} on ${item.resource}` : result.requestId;
          const id = result.requestId;
          if (result.errors.length)
            return { id, label, ok: false, text: `refused: ${result.errors.map((error) => error.message).join(' ')}` };
          const request = result.request!;
          if (request.status === 'PENDING')
            return { id, label, ok: true, text: `your approval counts: ${request.approvalsReceived} of ${request.requiredApprovals}` };
          return { id, label, ok: true, text: request.status.toLowerCase() };
        }),
      );
      await Promise.all(decided.map((item) => queue.refresh(item.id).catch(() => undefined)));
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="batch card" role="dialog" aria-modal="false" aria-labelledby="batch-title">
      <h2 id="batch-title">{results ? 'Batch decided' : `${word} ${items.length} request${items.length === 1 ? '' : 's'}?`}</h2>
      {results ? (
        <ul class="batch-results">
          {results.map((result) => (
            <li key={result.id} class={result.ok ? 'ok' : 'refused'}>
              <Text value={`${result.label}: ${result.text}`} limit={600} />
            </li>
          ))}
        </ul>
      ) : (
        <>
          {dropped > 0 && (
            <p role="status" class="notice">
              {dropped} selected request{dropped === 1 ? '' : 's'} left the queue meanwhile and {dropped === 1 ? 'is' : 'are'} no longer
              part of this batch.
            </p>
          )}
          {changed > 0 && (
            <p role="status" class="notice">
              {changed} selected request{changed === 1 ? ' was' : 's were'} changed by another reviewer since you selected{' '}
              {changed === 1 ? 'it' : 'them'} (new params): {changed === 1 ? 'it is' : 'they are'} left out; review{' '}
              {changed === 1 ? 'it' : 'them'} in the inbox.
            </p>
          )}
          <ul class="batch-items">
            {items.map((item) => (
              <li key={item.id}>
                <Text value={item.action} limit={80} strict /> on <Text value={item.resource} limit={1000} strict /> —{' '}
                <Text value={item.agent.name} limit={60} />
              </li>
            ))}
          </ul>
          <label for="batch-comment">Comment for every request in the batch</label>
          <textarea
            id="batch-comment"
            rows={2}
            maxLength={2000}
            value={comment}
            onInput={(event) => setComment((event.target as HTMLTextAreaElement).value)}
          />
        </>
      )}
      <Problem error={problem} />
      <div class="actions">
        {!results && (
          <button type="button" class={verdict === 'REJECT' ? 'danger' : ''} disabled={busy || items.length === 0} onClick={confirm}>
            {`${word} ${items.length} request${items.length === 1 ? '' : 's'}`}
          </button>
        )}
        <button type="button" class="secondary" onClick={onDone}>
          {results ? 'Close' : 'Cancel'}
        </button>
      </div>
    </section>
  );
}

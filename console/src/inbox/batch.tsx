import { useState } from 'preact/hooks';
import { InboxDecideManyDocument, type Verdict } from '../generated/graphql.js';
import { useSession } from '../session.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import type { Item } from './queue.js';
import type { Queue } from './use-queue.js';

interface Props {
  verdict: Verdict;
  /** The selected requests still in the queue: one decided elsewhere meanwhile drops out. */
  items: Item[];
  /** How many selected requests left the queue since the batch was opened. */
  dropped: number;
  queue: Queue;
  onDone: () => void;
}

interface Result {
  label: string;
  text: string;
  ok: boolean;
}

/**
 * A batch decision: the confirmation lists every request it will decide, with one comment for
 * all. Each is decided on its own (one refusal does not undo the others) and the result of each
 * is shown. Never changed params, never a standing approval.
 */
export function BatchConfirm({ verdict, items, dropped, queue, onDone }: Props) {
  const session = useSession();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<Result[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const word = verdict === 'APPROVE' ? 'Approve' : 'Reject';

  async function confirm() {
    setBusy(true);
    setProblem(null);
    const decided = items;
    try {
      const { decideActions } = await session.run(InboxDecideManyDocument, {
        input: {
          decisions: decided.map((item) => ({ requestId: item.id, verdict, revision: item.revision, comment: comment.trim() || null })),
        },
      });
      setResults(
        decideActions.results.map((result) => {
          const item = decided.find((candidate) => candidate.id === result.requestId);
          const label = item ? `${item.action} on ${item.resource}` : result.requestId;
          if (result.errors.length) return { label, ok: false, text: `refused: ${result.errors.map((error) => error.message).join(' ')}` };
          const request = result.request!;
          if (request.status === 'PENDING')
            return { label, ok: true, text: `your approval counts: ${request.approvalsReceived} of ${request.requiredApprovals}` };
          return { label, ok: true, text: request.status.toLowerCase() };
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
            <li key={result.label} class={result.ok ? 'ok' : 'refused'}>
              <Text value={result.label} limit={160} />: {result.text}
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
          <ul class="batch-items">
            {items.map((item) => (
              <li key={item.id}>
                <Text value={item.action} limit={80} /> on <Text value={item.resource} limit={120} /> —{' '}
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

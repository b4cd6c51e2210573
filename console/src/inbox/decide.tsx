import { useState } from 'preact/hooks';
import { InboxDecideDocument, InboxExtendDocument, type DecideActionInput } from '../generated/graphql.js';
import { useSession } from '../session.js';
import { Problem } from '../ui/problem.js';
import { AmendEditor } from './amend.js';
import { ExtendForm } from './extend.js';
import { errorText } from '../ui/errors.js';
import type { Item } from './queue.js';
import { DURATIONS, type StandingChoice } from './scope.js';
import { StandingOptions } from './standing-options.js';
import type { Queue } from './use-queue.js';

interface Props {
  item: Item;
  queue: Queue;
}

/**
 * Approve or reject with a comment; approve with changes where the rule allows it; a standing
 * approval where the policy allows it; extend the deadline. Every decision names the revision
 * shown, so a request changed meanwhile is refused rather than decided unseen; a refusal is shown
 * here and the request read again.
 */
export function DecidePanel({ item, queue }: Props) {
  const session = useSession();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const [mode, setMode] = useState<'decide' | 'amend' | 'extend'>('decide');
  const [standingOn, setStandingOn] = useState(false);
  const [standing, setStanding] = useState<StandingChoice>({
    agent: item.agent.name,
    onBehalfOf: item.onBehalfOf?.name ?? null,
    action: item.action,
    resource: item.resource,
    rules: item.evaluation.decidingRules,
    resources: '',
    sameParams: item.amendedParams != null,
    amended: item.amendedParams != null,
    forSeconds: DURATIONS[0]!.seconds,
  });
  const you = session.viewer.id;
  const reviewed = item.reviews.find((review) => review.reviewer.id === you && review.revision === item.revision);

  async function decide(input: Omit<DecideActionInput, 'requestId' | 'revision' | 'comment'>) {
    setBusy(true);
    setProblem(null);
    try {
      const { decideAction } = await session.run(InboxDecideDocument, {
        input: { requestId: item.id, revision: item.revision, comment: comment.trim() || null, ...input },
      });
      const refused = errorText(decideAction.errors);
      if (refused) {
        setProblem(new Error(refused));
        // Decided or changed meanwhile: show the request as it is now (gone, with a note, if decided).
        if (decideAction.errors.some((error) => error.__typename === 'ConflictError')) await queue.refresh(item.id);
      } else if (decideAction.request) {
        queue.settle(decideAction.request);
        setMode('decide');
      }
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  async function extend(bySeconds: number, reason: string) {
    setBusy(true);
    setProblem(null);
    try {
      const { extendActionRequest } = await session.run(InboxExtendDocument, {
        input: { requestId: item.id, bySeconds, reason: reason.trim() || null },
      });
      const refused = errorText(extendActionRequest.errors);
      if (refused) setProblem(new Error(refused));
      else if (extendActionRequest.request) {
        const { expiresAt, extensions } = extendActionRequest.request;
        queue.patch(item.id, { expiresAt, extensions });
        setMode('decide');
      }
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  const approve = () =>
    decide({
      verdict: 'APPROVE',
      standing: standingOn
        ? { resources: standing.resources.trim() || null, sameParams: standing.sameParams, forSeconds: standing.forSeconds }
        : null,
    });

  return (
    <div class="decide">
      {reviewed ? (
        <p class="muted" role="status">
          You {reviewed.verdict === 'APPROVE' ? 'approved' : 'rejected'} this revision; it waits for the other approvals above.
        </p>
      ) : (
        <>
          <label for={`comment-${item.id}`}>Comment</label>
          <textarea
            id={`comment-${item.id}`}
            data-role="comment"
            rows={2}
            maxLength={2000}
            value={comment}
            onInput={(event) => setComment((event.target as HTMLTextAreaElement).value)}
          />
          {item.evaluation.standingAllowed && mode === 'decide' && (
            <label class="inline">
              <input type="checkbox" checked={standingOn} onChange={(event) => setStandingOn((event.target as HTMLInputElement).checked)} />{' '}
              Also approve requests like this one for a while
            </label>
          )}
          {standingOn && mode === 'decide' && <StandingOptions id={`standing-${item.id}`} choice={standing} onChange={setStanding} />}
          {mode === 'decide' && (
            <div class="actions">
              <button type="button" data-action="approve" disabled={busy} onClick={approve}>
                {standingOn ? 'Approve and save standing approval' : 'Approve'}
              </button>
              <button type="button" data-action="reject" class="danger" disabled={busy} onClick={() => decide({ verdict: 'REJECT' })}>
                Reject
              </button>
              {item.evaluation.amendable && (
                <button type="button" class="secondary" onClick={() => setMode('amend')}>
                  Approve with changes…
                </button>
              )}
              <button type="button" class="secondary" onClick={() => setMode('extend')}>
                Extend deadline…
              </button>
            </div>
          )}
        </>
      )}
      {mode === 'amend' && !reviewed && (
        <AmendEditor
          item={item}
          busy={busy}
          onApprove={(params) => decide({ verdict: 'APPROVE', params })}
          onCancel={() => setMode('decide')}
        />
      )}
      {mode === 'extend' && <ExtendForm id={item.id} busy={busy} onExtend={extend} onCancel={() => setMode('decide')} />}
      {reviewed && mode !== 'extend' && (
        <div class="actions">
          <button type="button" class="secondary" onClick={() => setMode('extend')}>
            Extend deadline…
          </button>
        </div>
      )}
      <Problem error={problem} prefix="Refused" />
    </div>
  );
}

import { useState } from 'preact/hooks';
import type { HistoryItemFragment } from '../generated/graphql.js';
import { Text } from '../ui/text.js';
import { duration, when } from '../ui/time.js';
import { RequestTrail } from './request-trail.js';
import { decidedByWords, decisionTime } from './words.js';

/** `3 min 2 s`, or `at once` for a decision within the second (the policy's). */
const elapsed = (ms: number) => (ms < 1_000 ? 'at once (under a second)' : duration(ms));

function Outcome({ request }: { request: HistoryItemFragment }) {
  if (request.outcome) {
    return (
      <>
        <span class={`history-outcome history-outcome-${request.outcome}`}>{request.outcome}</span>
        {request.outcomeReportedAt && (
          <>
            {' '}
            <span class="muted">
              reported <time dateTime={request.outcomeReportedAt}>{when(request.outcomeReportedAt)}</time>
            </span>
          </>
        )}
        {request.outcomeDetail && (
          <div>
            <Text value={request.outcomeDetail} />
          </div>
        )}
      </>
    );
  }
  return <span class="muted">{request.status === 'APPROVED' ? 'Not reported yet' : 'None: the action was not approved'}</span>;
}

function Reviews({ request }: { request: HistoryItemFragment }) {
  if (request.reviews.length === 0)
    return <p class="muted">No reviews: {request.decidedBy === 'POLICY' ? 'the policy decided alone' : 'nobody reviewed it'}.</p>;
  return (
    <ul class="history-reviews">
      {request.reviews.map((review) => (
        <li key={review.id}>
          <span class={`history-verdict history-verdict-${review.verdict}`}>{review.verdict}</span> by{' '}
          <strong>
            <Text value={review.reviewer.name} limit={80} />
          </strong>
          {review.standingApprovalId && <span class="history-standing"> by standing approval</span>}{' '}
          <span class="muted">
            <time dateTime={review.createdAt}>{when(review.createdAt)}</time>
            {review.revision > 0 && ` · revision ${review.revision}`}
          </span>
          {review.comment && (
            <blockquote class="history-comment">
              <Text value={review.comment} />
            </blockquote>
          )}
        </li>
      ))}
    </ul>
  );
}

/** One decided request: its outcome, who decided and how fast, what happened when it ran, its reviews and its trail. */
export function HistoryItem({ request }: { request: HistoryItemFragment }) {
  const [trailShown, setTrailShown] = useState(false);
  const decided = decidedByWords(request);
  const took = decisionTime(request);
  const titleId = `history-${request.id}`;
  return (
    <article class="card history-item" aria-labelledby={titleId}>
      <div class="history-head">
        <span class={`history-status history-status-${request.status}`}>{request.status}</span>
        {request.overridden && <span class="history-overridden">overridden</span>}
        <h2 id={titleId}>
          <Text value={request.action} limit={80} /> <span class="muted">on</span> <Text value={request.resource} limit={120} />
        </h2>
      </div>
      <dl class="audit-facts">
        <dt>Agent</dt>
        <dd>
          <Text value={request.agent.name} limit={80} />
          {request.onBehalfOf && (
            <>
              {' '}
              <span class="muted">for</span> <Text value={request.onBehalfOf.name} limit={80} />
            </>
          )}
        </dd>
        <dt>Requested</dt>
        <dd>
          <time dateTime={request.createdAt}>{when(request.createdAt)}</time>
        </dd>
        <dt>Decided by</dt>
        <dd>
          {decided.person ? (
            <>
              <strong>
                <Text value={decided.person} limit={80} />
              </strong>{' '}
              <span class="muted">({decided.what})</span>
            </>
          ) : (
            decided.what
          )}
        </dd>
        <dt>Time to decision</dt>
        <dd>
          {took === null ? (
            <span class="muted">undecided</span>
          ) : (
            <>
              {elapsed(took)}{' '}
              <span class="muted">
                (decided <time dateTime={request.decidedAt!}>{when(request.decidedAt!)}</time>)
              </span>
            </>
          )}
        </dd>
        <dt>Comment or reason</dt>
        <dd>{request.decisionReason ? <Text value={request.decisionReason} /> : <span class="muted">none given</span>}</dd>
        <dt>Execution outcome</dt>
        <dd>
          <Outcome request={request} />
        </dd>
        {request.reason && (
          <>
            <dt>Agent's reason</dt>
            <dd>
              <Text value={request.reason} />
            </dd>
          </>
        )}
      </dl>
      <h3 class="history-subhead">Reviews</h3>
      <Reviews request={request} />
      <button
        type="button"
        class="secondary"
        aria-expanded={trailShown}
        aria-controls={`${titleId}-trail`}
        onClick={() => setTrailShown(!trailShown)}
      >
        {trailShown ? 'Hide audit trail' : 'Show audit trail'}
      </button>
      <div id={`${titleId}-trail`}>{trailShown && <RequestTrail request={request} />}</div>
    </article>
  );
}

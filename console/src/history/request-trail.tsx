import { useEffect, useState } from 'preact/hooks';
import { EventData, EventType } from '../audit/event-data.js';
import { HistoryTrailDocument, type HistoryItemFragment, type HistoryTrailQuery } from '../generated/graphql.js';
import { hasRole, useSession } from '../session.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import { when } from '../ui/time.js';
import { decidedByWords } from './words.js';

type TrailEvent = HistoryTrailQuery['auditEvents']['edges'][number]['node'];

/**
 * A request's audit trail. The audit log is for AUDITOR and ADMIN (`auditEvents`); a reviewer
 * gets the trail the request itself records (`reviews`, the decision, the outcome), which it may read.
 */
export function RequestTrail({ request }: { request: HistoryItemFragment }) {
  const { viewer } = useSession();
  return hasRole(viewer, 'AUDITOR', 'ADMIN') ? <AuditTrail requestId={request.id} /> : <RecordedTrail request={request} />;
}

/** The request's sealed audit events, oldest first, fifty at a time (the server caps a query’s cost). */
function AuditTrail({ requestId }: { requestId: string }) {
  const session = useSession();
  const [events, setEvents] = useState<TrailEvent[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  async function load(after: string | null) {
    setLoading(true);
    setError(null);
    try {
      const data = await session.run(HistoryTrailDocument, { requestId, after });
      const { edges, pageInfo } = data.auditEvents;
      setEvents((shown) => [...shown, ...edges.map((edge) => edge.node)]);
      setNext(pageInfo.hasNextPage ? pageInfo.endCursor : null);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    void load(null);
  }, [requestId]);

  return (
    <section class="history-trail" aria-label="Audit trail">
      <Problem error={error} prefix="The audit trail could not be read" />
      {loading && events.length === 0 && <p role="status">Loading the audit trail…</p>}
      {!loading && !error && events.length === 0 && <p class="muted">No sealed audit events for this request yet.</p>}
      {events.length > 0 && (
        <ol class="history-trail-list">
          {events.map((event) => (
            <li key={event.id}>
              <div>
                <EventType type={event.type} />{' '}
                <span class="muted">
                  seq {event.seq ?? 'unsealed'} · <time dateTime={event.createdAt}>{when(event.createdAt)}</time> ·{' '}
                </span>
                {event.actor ? <Text value={event.actor.name} limit={80} /> : <span class="muted">system</span>}
              </div>
              <EventData data={event.data} />
            </li>
          ))}
        </ol>
      )}
      {next && (
        <button type="button" class="secondary" disabled={loading} onClick={() => void load(next)}>
          {loading ? 'Loading…' : 'Load more of the trail'}
        </button>
      )}
    </section>
  );
}

/** What a reviewer may read of a request's history: its own record, in order. */
function RecordedTrail({ request }: { request: HistoryItemFragment }) {
  const decided = decidedByWords(request);
  return (
    <section class="history-trail" aria-label="Audit trail">
      <p class="muted">
        The audit log is open to auditors and administrators; this is the request's own record: its creation, each review, the decision and
        the reported outcome.
      </p>
      <ol class="history-trail-list">
        <li>
          <code class="audit-type">REQUESTED</code> <time dateTime={request.createdAt}>{when(request.createdAt)}</time> by{' '}
          <Text value={request.agent.name} limit={80} />
        </li>
        {request.reviews.map((review) => (
          <li key={review.id}>
            <code class="audit-type">REVIEW {review.verdict}</code> <time dateTime={review.createdAt}>{when(review.createdAt)}</time> by{' '}
            <Text value={review.reviewer.name} limit={80} />
            {review.standingApprovalId && ' by standing approval'}
            {review.comment && (
              <>
                : <Text value={review.comment} />
              </>
            )}
          </li>
        ))}
        {request.decidedAt && (
          <li>
            <code class="audit-type">{request.status}</code> <time dateTime={request.decidedAt}>{when(request.decidedAt)}</time> by{' '}
            {decided.person ? <Text value={decided.person} limit={80} /> : decided.what}
            {request.decisionReason && (
              <>
                : <Text value={request.decisionReason} />
              </>
            )}
          </li>
        )}
        {request.outcome && request.outcomeReportedAt && (
          <li>
            <code class="audit-type">OUTCOME {request.outcome}</code>{' '}
            <time dateTime={request.outcomeReportedAt}>{when(request.outcomeReportedAt)}</time>
            {request.outcomeDetail && (
              <>
                : <Text value={request.outcomeDetail} />
              </>
            )}
          </li>
        )}
      </ol>
    </section>
  );
}

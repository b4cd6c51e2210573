import { useEffect, useRef, useState } from 'preact/hooks';
import { HistoryPageDocument, type ActionRequestFilter, type ActionStatus, type HistoryItemFragment } from '../generated/graphql.js';
import { useSession } from '../session.js';
import { Problem } from '../ui/problem.js';
import { HistoryItem } from './history-item.js';
import { DECIDED } from './words.js';
import '../audit/audit.css';
import './history.css';

const PAGE_SIZE = 20;

interface Criteria {
  action: string;
  resource: string;
  /** One decided status, or '' for all of them. */
  status: ActionStatus | '';
}

const NO_CRITERIA: Criteria = { action: '', resource: '', status: '' };

function filterOf(criteria: Criteria): ActionRequestFilter {
  const filter: ActionRequestFilter = { statuses: criteria.status ? [criteria.status] : DECIDED };
  if (criteria.action.trim()) filter.action = criteria.action.trim();
  if (criteria.resource.trim()) filter.resource = criteria.resource.trim();
  return filter;
}

/**
 * Decided requests the viewer may see (`actionRequests`: a reviewer those it may review, an
 * auditor or administrator all), newest first, with who decided, how fast, the outcome and the trail.
 */
export function HistoryView() {
  const session = useSession();
  const [draft, setDraft] = useState<Criteria>(NO_CRITERIA);
  const [criteria, setCriteria] = useState<Criteria>(NO_CRITERIA);
  const [requests, setRequests] = useState<HistoryItemFragment[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  // Bumped by "Refresh": the same criteria read again.
  const [generation, setGeneration] = useState(0);
  // Each new reading (criteria or refresh) outdates the answers still on their way.
  const reading = useRef(0);

  async function load(after: string | null) {
    const mine = reading.current;
    const stale = () => mine !== reading.current;
    setLoading(true);
    setError(null);
    try {
      const data = await session.run(HistoryPageDocument, { filter: filterOf(criteria), after, first: PAGE_SIZE });
      if (stale()) return;
      const { edges, pageInfo } = data.actionRequests;
      const page = edges.map((edge) => edge.node);
      setRequests((shown) => (after ? [...shown, ...page.filter((item) => !shown.some((s) => s.id === item.id))] : page));
      setNext(pageInfo.hasNextPage ? pageInfo.endCursor : null);
    } catch (failure) {
      if (!stale()) setError(failure);
    } finally {
      if (!stale()) setLoading(false);
    }
  }

  useEffect(() => {
    reading.current += 1;
    setRequests([]);
    setNext(null);
    void load(null);
  }, [criteria, generation]);

  return (
    <div class="history">
      <h1>History</h1>
      <form
        class="card history-filters"
        aria-label="History filters"
        onSubmit={(event) => {
          event.preventDefault();
          setCriteria(draft);
        }}
      >
        <div class="field">
          <label for="history-action">Action</label>
          <input
            id="history-action"
            value={draft.action}
            placeholder="exact, e.g. deploy.update"
            autocomplete="off"
            spellcheck={false}
            onInput={(e) => setDraft({ ...draft, action: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="history-resource">Resource</label>
          <input
            id="history-resource"
            value={draft.resource}
            placeholder="exact, e.g. prod/payments-api"
            autocomplete="off"
            spellcheck={false}
            onInput={(e) => setDraft({ ...draft, resource: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="history-status">Status</label>
          <select
            id="history-status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value as Criteria['status'] })}
          >
            <option value="">Any decided status</option>
            {DECIDED.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </div>
        <div class="history-filter-actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(NO_CRITERIA);
              setCriteria(NO_CRITERIA);
            }}
          >
            Clear filters
          </button>
          <button type="button" class="secondary" onClick={() => setGeneration((n) => n + 1)}>
            Refresh
          </button>
        </div>
      </form>
      <Problem error={error} prefix="The history could not be read" />
      {loading && requests.length === 0 && <p role="status">Loading decided requests…</p>}
      {!loading && !error && requests.length === 0 && <p>No decided requests match these filters.</p>}
      <div class="history-list">
        {requests.map((request) => (
          <HistoryItem key={request.id} request={request} />
        ))}
      </div>
      {next && (
        <button type="button" class="secondary" disabled={loading} onClick={() => void load(next)}>
          {loading ? 'Loading…' : 'Load older requests'}
        </button>
      )}
    </div>
  );
}

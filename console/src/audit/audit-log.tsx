import { useState } from 'preact/hooks';
import type { AuditEventFilter } from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { AuditFilters, criteriaIn } from './audit-filters.js';
import { AuditRow } from './audit-row.js';
import { useAuditLog, type TailState } from './use-audit-log.js';
import { VerificationPanel } from './verification.js';
import './audit.css';

const TAIL_WORDS: Record<TailState, string> = {
  starting: 'Starting the live tail…',
  live: 'Live: new events appear at the top as they commit.',
  paused: 'Paused: turn Live on to catch up from where the tail stopped.',
  reconnecting: 'Reconnecting… the tail will resume from the last event received.',
  failed: 'The live tail stopped.',
};

/**
 * The audit log for auditors and administrators: the sealed chain newest first, under the filters
 * `auditEvents` offers, with a live tail on top and the chain's verification beside it.
 */
export function AuditLogView() {
  const [filter, setFilter] = useState<AuditEventFilter>({});
  const [live, setLive] = useState(true);
  const log = useAuditLog(filter, live);
  const criteria = criteriaIn(filter);

  return (
    <div class="audit-log">
      <h1>Audit log</h1>
      <VerificationPanel />
      <AuditFilters filter={filter} onApply={setFilter} />
      <section aria-labelledby="audit-events-title">
        <div class="audit-log-header">
          <h2 id="audit-events-title">Events</h2>
          <label class="audit-live-toggle">
            <input type="checkbox" role="switch" checked={live} onChange={(event) => setLive(event.currentTarget.checked)} />
            Live
          </label>
          {!log.error && (
            <p class={`audit-tail audit-tail-${log.tail}`} role="status" aria-live="polite">
              <span class="dot" aria-hidden="true" />
              {TAIL_WORDS[log.tail]}
            </p>
          )}
        </div>
        {log.tail === 'failed' && (
          <div class="audit-tail-stopped">
            <Problem error={log.tailError} prefix="Live tail" />
            <button type="button" class="secondary" onClick={log.retryTail}>
              Resume the tail
            </button>
          </div>
        )}
        <p class="muted">
          {criteria === 0 ? 'Every event' : `Events matching ${criteria} ${criteria === 1 ? 'criterion' : 'criteria'}`}, newest first.
          Sealed events show their place in the hash chain; events from the live tail read “unsealed” until the sealer chains them.
          {criteria > 0 && (
            <>
              {' '}
              <button type="button" class="link" onClick={() => setFilter({})}>
                Show every event
              </button>
            </>
          )}
        </p>
        <Problem error={log.error} prefix="The audit log could not be read" />
        {log.loading && <p role="status">Loading the audit log…</p>}
        {!log.loading && !log.error && log.events.length === 0 && <p>No events match these filters yet.</p>}
        {log.events.length > 0 && (
          <table class="audit-table">
            <caption class="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Actor</th>
                <th scope="col">Request</th>
                <th scope="col">Action / resource</th>
                <th scope="col">Data</th>
              </tr>
            </thead>
            <tbody>
              {log.events.map((event) => (
                <AuditRow key={event.id} event={event} onNarrow={(change) => setFilter({ ...filter, ...change })} />
              ))}
            </tbody>
          </table>
        )}
        <Problem error={log.olderError} prefix="Older events could not be read" />
        {log.olderCursor && (
          <button type="button" class="secondary audit-older" disabled={log.loadingOlder} onClick={log.loadOlder}>
            {log.loadingOlder ? 'Loading…' : 'Load older'}
          </button>
        )}
        {!log.loading && !log.olderCursor && log.events.length > 0 && <p class="muted">No older events.</p>}
      </section>
    </div>
  );
}

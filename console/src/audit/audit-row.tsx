import type { AuditEventFilter, AuditRowFragment } from '../generated/graphql.js';
import { Text } from '../ui/text.js';
import { when } from '../ui/time.js';
import { EventData, EventType } from './event-data.js';

interface Props {
  event: AuditRowFragment;
  /** Narrows the log to one request or one actor (a click on either). */
  onNarrow(change: AuditEventFilter): void;
}

/** One audit event as a table row; on a phone each cell is a line, named by its `data-label`. */
export function AuditRow({ event, onNarrow }: Props) {
  const { actor, request, requestId } = event;
  return (
    <tr>
      <td data-label="Seq">{event.seq === null ? <span class="audit-unsealed">unsealed</span> : event.seq}</td>
      <td data-label="Time">
        <time dateTime={event.createdAt}>{when(event.createdAt)}</time>
      </td>
      <td data-label="Type">
        <EventType type={event.type} />
      </td>
      <td data-label="Actor">
        {actor ? (
          <>
            <Text value={actor.name} limit={60} />{' '}
            <button type="button" class="link audit-narrow" title={`Actor id ${actor.id}`} onClick={() => onNarrow({ actorId: actor.id })}>
              filter<span class="visually-hidden"> by this actor</span>
            </button>
          </>
        ) : (
          <span class="muted">system</span>
        )}
      </td>
      <td data-label="Request">
        {requestId ? (
          <button type="button" class="link audit-request-id" title={requestId} onClick={() => onNarrow({ requestId })}>
            <span class="visually-hidden">Show only events of request </span>
            {requestId.slice(0, 8)}
          </button>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td data-label="Action / resource">
        {request ? (
          <>
            <Text value={request.action} limit={80} /> <span class="muted">on</span> <Text value={request.resource} limit={120} />
          </>
        ) : (
          <span class="muted">—</span>
        )}
      </td>
      <td data-label="Data">
        <EventData data={event.data} />
      </td>
    </tr>
  );
}

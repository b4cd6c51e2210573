import { Fragment } from 'preact';
import { Json } from '../ui/json.js';
import { Text } from '../ui/text.js';

/** An event type, breakable after each underscore on a narrow screen (`STANDING_APPROVAL_USED`). */
export function EventType({ type }: { type: string }) {
  const parts = type.split('_');
  return (
    <code class="audit-type">
      {parts.map((part, i) => (
        <Fragment key={i}>
          {part}
          {i < parts.length - 1 && (
            <>
              _<wbr />
            </>
          )}
        </Fragment>
      ))}
    </code>
  );
}

/** The top-level keys of an event's data, for the folded line: what opening it will show. */
function keysOf(data: unknown): string {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return '';
  const keys = Object.keys(data);
  if (keys.length === 0) return 'empty';
  const shown = keys.slice(0, 4).join(', ');
  return keys.length > 4 ? `${shown}, …` : shown;
}

/**
 * An audit event's `data`, folded to its keys until opened, then pretty-printed by `Json` (which
 * flags invisible and bidi characters in whatever an agent put there).
 */
export function EventData({ data }: { data: unknown }) {
  const keys = keysOf(data);
  return (
    <details class="audit-data">
      <summary>
        Data
        {keys && (
          <span class="muted">
            {' '}
            (<Text value={keys} limit={80} />)
          </span>
        )}
      </summary>
      <Json value={data} />
    </details>
  );
}

import { Text } from '../ui/text.js';
import type { Change } from './json-diff.js';

const show = (value: unknown) => <Text value={JSON.stringify(value) ?? 'undefined'} limit={120} />;

/** A JSON diff, one path per line, marked by sign and word as well as colour. */
export function ChangeList({ changes }: { changes: Change[] }) {
  if (changes.length === 0) return <p class="muted">No changes from the agent's params.</p>;
  return (
    <ul class="changes" aria-label="Changes to the params">
      {changes.map((change) => (
        <li key={change.path} class={`change-${change.kind}`}>
          <code>
            <Text value={change.path} />
          </code>
          {change.kind === 'added' && (
            <>
              {' '}
              added: <ins>+ {show(change.after)}</ins>
            </>
          )}
          {change.kind === 'removed' && (
            <>
              {' '}
              removed: <del>− {show(change.before)}</del>
            </>
          )}
          {change.kind === 'changed' && (
            <>
              {' '}
              changed: <del>− {show(change.before)}</del> <ins>+ {show(change.after)}</ins>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

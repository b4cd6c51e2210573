import type { ComponentChildren } from 'preact';
import { isMarker, isRedactedPath } from './redaction.js';
import { Text } from './text.js';

interface Props {
  value: unknown;
  /** Where the value sits (`['params']`), to recognise the policy's redaction paths. */
  path?: readonly string[];
  /** The request's redaction paths; when unknown (an audit event's data), a well-formed marker is taken as a redaction. */
  redactPaths?: readonly string[] | undefined;
}

/**
 * A JSON value pretty-printed, with every string (keys too) shown through `Text`: flagged
 * characters escaped, long strings folded. A value at a redacted path shows as a redaction; a
 * string that only looks like a redaction marker elsewhere is said to be one the agent wrote.
 */
export function Json({ value, path = [], redactPaths }: Props) {
  return <pre class="json">{node(value, path, redactPaths, '')}</pre>;
}

function node(value: unknown, path: readonly string[], redactPaths: readonly string[] | undefined, indent: string): ComponentChildren {
  if (isMarker(value)) {
    return redactPaths === undefined || isRedactedPath(path, redactPaths) ? (
      <span class="redacted">redacted</span>
    ) : (
      <>
        <Text value={value} json />
        <span class="fake-marker"> (not a redaction: the agent wrote this)</span>
      </>
    );
  }
  if (typeof value === 'string') return <Text value={value} json />;
  if (value === null || typeof value !== 'object') return <span class="literal">{JSON.stringify(value)}</span>;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return (
      <>
        {'[\n'}
        {value.map((item, i) => (
          <>
            {inner}
            {node(item, [...path, String(i)], redactPaths, inner)}
            {i < value.length - 1 ? ',\n' : '\n'}
          </>
        ))}
        {`${indent}]`}
      </>
    );
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return (
    <>
      {'{\n'}
      {entries.map(([key, item], i) => (
        <>
          {inner}
          <span class="key">
            <Text value={key} json strict />
          </span>
          {': '}
          {node(item, [...path, key], redactPaths, inner)}
          {i < entries.length - 1 ? ',\n' : '\n'}
        </>
      ))}
      {`${indent}}`}
    </>
  );
}

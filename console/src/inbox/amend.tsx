import { useState } from 'preact/hooks';
import { diffJson } from './json-diff.js';
import { ChangeList } from './change-list.js';
import type { Item } from './queue.js';

interface Props {
  item: Item;
  busy: boolean;
  /** Approves with these params; resolves once the server answered (its refusal is shown by the panel). */
  onApprove: (params: Record<string, unknown>) => void;
  onCancel: () => void;
}

const holdsMarker = (value: unknown): boolean => JSON.stringify(value ?? null).includes('[redacted:hmac-sha256:');

/** Approve with changes: a JSON editor with the diff against the agent's params, live as one types. */
export function AmendEditor({ item, busy, onApprove, onCancel }: Props) {
  const start = item.amendedParams ?? item.params ?? {};
  const [text, setText] = useState(JSON.stringify(start, null, 2));
  if (holdsMarker(start)) {
    return (
      <p class="error" role="note">
        These params hold redacted values. Approving with changes would send their markers, not the values, so it is not offered here:
        reject with a comment, and let the agent ask again.
      </p>
    );
  }
  let parsed: unknown = null;
  let problem: string | null = null;
  try {
    parsed = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) problem = 'The params must be a JSON object.';
  } catch (error) {
    problem = `Not valid JSON: ${(error as Error).message}`;
  }
  const changes = problem ? [] : diffJson(item.params, parsed);
  return (
    <div class="amend">
      <label for={`amend-${item.id}`}>Changed params (JSON)</label>
      <textarea
        id={`amend-${item.id}`}
        rows={8}
        spellcheck={false}
        value={text}
        onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
      />
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : (
        <ChangeList changes={changes} />
      )}
      <div class="actions">
        <button
          type="button"
          disabled={busy || problem !== null || changes.length === 0}
          onClick={() => onApprove(parsed as Record<string, unknown>)}
        >
          Approve with changes
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

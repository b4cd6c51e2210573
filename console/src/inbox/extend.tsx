import { useState } from 'preact/hooks';
import { DURATIONS as BY } from './scope.js';

interface Props {
  id: string;
  busy: boolean;
  onExtend: (bySeconds: number, reason: string) => void;
  onCancel: () => void;
}

/** More time for reviewers: at most a day at a time (the server also caps how often). */
export function ExtendForm({ id, busy, onExtend, onCancel }: Props) {
  const [by, setBy] = useState(BY[1]!.seconds);
  const [reason, setReason] = useState('');
  return (
    <div class="extend">
      <label for={`extend-by-${id}`}>Extend the deadline by</label>
      <select id={`extend-by-${id}`} value={String(by)} onChange={(event) => setBy(Number((event.target as HTMLSelectElement).value))}>
        {BY.map((option) => (
          <option key={option.seconds} value={String(option.seconds)}>
            {option.label}
          </option>
        ))}
      </select>
      <label for={`extend-reason-${id}`}>Reason for the extension</label>
      <input
        id={`extend-reason-${id}`}
        value={reason}
        maxLength={2000}
        onInput={(event) => setReason((event.target as HTMLInputElement).value)}
      />
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => onExtend(by, reason)}>
          Extend
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

import { useState } from 'preact/hooks';
import { codePointLabel, FLAG_LABELS, inspect } from './fidelity.js';

/** Longer strings are cut, with a button to show them whole. */
export const LONG_TEXT = 240;

interface Props {
  value: string;
  /** Show as a JSON string: quoted, with quotes, backslashes, newlines and tabs escaped. */
  json?: boolean;
  /** Characters shown before the rest is folded away. */
  limit?: number;
  /** An identifier (action, resource, key): every letter of a look-alike script is flagged. */
  strict?: boolean;
}

const escapeJson = (text: string) => text.replace(/[\\"\n\t]/g, (char) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t' })[char]!);

/**
 * A string an agent controls, shown faithfully: invisible characters, bidi controls and other
 * controls appear as their code point (never applied), look-alike letters are marked, and a long
 * value has a button to show it whole.
 */
export function Text({ value, json = false, limit = LONG_TEXT, strict = false }: Props) {
  const [whole, setWhole] = useState(false);
  const chars = Array.from(value);
  const long = chars.length > limit;
  const shown = long && !whole ? chars.slice(0, limit).join('') : value;
  return (
    <span class="text">
      {json && '"'}
      {inspect(shown, strict).map((segment, i) =>
        segment.flag ? (
          <mark key={i} class={`flag flag-${segment.flag}`} title={`${FLAG_LABELS[segment.flag]} ${codePointLabel(segment.codePoint!)}`}>
            {segment.flag === 'lookalike' ? segment.text : ''}
            <span class="code-point">{`⟨${codePointLabel(segment.codePoint!)}⟩`}</span>
          </mark>
        ) : json ? (
          escapeJson(segment.text)
        ) : (
          segment.text
        ),
      )}
      {long && !whole && '…'}
      {json && '"'}
      {long && (
        <button type="button" class="link" onClick={() => setWhole(!whole)}>
          {whole ? 'Show less' : `Show all ${chars.length} characters`}
        </button>
      )}
    </span>
  );
}

import { useMemo, useState } from 'preact/hooks';
import { Text } from '../ui/text.js';
import { DIFF_LIMITS, diffLines, type DiffLine } from './line-diff.js';

/** Unchanged lines kept around each change; longer unchanged runs fold behind a button. */
const CONTEXT = 3;
/** Fewer unchanged lines than this are shown rather than folded. */
const MIN_FOLD = 4;

type Piece = { line: DiffLine } | { fold: DiffLine[]; at: number };

function piecesOf(lines: DiffLine[]): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.kind !== 'same') {
      pieces.push({ line: lines[i++]! });
      continue;
    }
    let end = i;
    while (end < lines.length && lines[end]!.kind === 'same') end++;
    const keepBefore = i === 0 ? 0 : CONTEXT;
    const keepAfter = end === lines.length ? 0 : CONTEXT;
    if (end - i - keepBefore - keepAfter >= MIN_FOLD) {
      pieces.push(...lines.slice(i, i + keepBefore).map((line) => ({ line })));
      pieces.push({ fold: lines.slice(i + keepBefore, end - keepAfter), at: i + keepBefore });
      pieces.push(...lines.slice(end - keepAfter, end).map((line) => ({ line })));
    } else {
      pieces.push(...lines.slice(i, end).map((line) => ({ line })));
    }
    i = end;
  }
  return pieces;
}

const SIGN = { same: ' ', added: '+', removed: '−' } as const;

function Line({ line }: { line: DiffLine }) {
  const content = (
    <>
      <span class="sign">{SIGN[line.kind]} </span>
      <Text value={line.text} />
      {'\n'}
    </>
  );
  if (line.kind === 'added') return <ins class="diff-line added">{content}</ins>;
  if (line.kind === 'removed') return <del class="diff-line removed">{content}</del>;
  return <span class="diff-line">{content}</span>;
}

/**
 * A line diff of two documents: removed lines marked `−` (and struck through), added ones `+`
 * (and underlined), so colour is never the only sign.
 */
export function DiffView({ before, after, label }: { before: string; after: string; label: string }) {
  const diff = useMemo(() => diffLines(before, after), [before, after]);
  const pieces = useMemo(() => piecesOf(diff.lines), [diff]);
  const [opened, setOpened] = useState<ReadonlySet<number>>(new Set());

  return (
    <div class="diff-view">
      <p role="status">
        {diff.added === 0 && diff.removed === 0
          ? 'No differences: the two documents are the same.'
          : `${diff.removed} line${diff.removed === 1 ? '' : 's'} removed (−), ${diff.added} added (+).`}
      </p>
      {diff.truncated && (
        <p class="notice">
          These documents are longer than {DIFF_LIMITS.maxLines.toLocaleString()} lines: only the first{' '}
          {DIFF_LIMITS.maxLines.toLocaleString()} lines of each are compared.
        </p>
      )}
      {diff.approximate && (
        <p class="notice">
          More than {DIFF_LIMITS.maxEdits.toLocaleString()} lines differ: the changed part is shown removed, then added, whole.
        </p>
      )}
      <pre class="diff" role="region" aria-label={label} tabIndex={0}>
        {pieces.map((piece, i) =>
          'line' in piece ? (
            <Line key={i} line={piece.line} />
          ) : opened.has(piece.at) ? (
            piece.fold.map((line, j) => <Line key={`${i}.${j}`} line={line} />)
          ) : (
            <span key={i} class="diff-fold">
              <button type="button" class="link" onClick={() => setOpened(new Set([...opened, piece.at]))}>
                Show {piece.fold.length} unchanged lines
              </button>
              {'\n'}
            </span>
          ),
        )}
      </pre>
    </div>
  );
}

/** One line of a diff: in both texts, only in the second (added), or only in the first (removed). */
export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

export interface LineDiff {
  lines: DiffLine[];
  added: number;
  removed: number;
  /** Either text was longer than `maxLines`: only the first `maxLines` lines of each were compared. */
  truncated: boolean;
  /** The texts differ in more than `maxEdits` lines: the differing middle is shown removed, then added, whole. */
  approximate: boolean;
}

export interface DiffLimits {
  maxLines: number;
  maxEdits: number;
}

/**
 * A policy may hold 10,000 rules (hundreds of thousands of lines): a browser tab comparing two of
 * them line by line must not freeze. Beyond these bounds the diff says it is partial.
 */
export const DIFF_LIMITS: DiffLimits = { maxLines: 5_000, maxEdits: 2_000 };

const split = (text: string) => (text === '' ? [] : text.split('\n'));

/**
 * The line diff of two texts, by Myers' O((N+M)·D) algorithm (D, the number of differing lines,
 * is small between two versions of a document), after trimming the common head and tail. Its
 * memory is O(D²) for the trace, which `maxEdits` bounds.
 */
export function diffLines(before: string, after: string, limits: DiffLimits = DIFF_LIMITS): LineDiff {
  const allA = split(before);
  const allB = split(after);
  const truncated = allA.length > limits.maxLines || allB.length > limits.maxLines;
  const a = allA.slice(0, limits.maxLines);
  const b = allB.slice(0, limits.maxLines);

  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;

  const middle = myers(a.slice(head, a.length - tail), b.slice(head, b.length - tail), limits.maxEdits);
  const lines: DiffLine[] = [
    ...a.slice(0, head).map((text) => ({ kind: 'same' as const, text })),
    ...(middle ?? [
      ...a.slice(head, a.length - tail).map((text) => ({ kind: 'removed' as const, text })),
      ...b.slice(head, b.length - tail).map((text) => ({ kind: 'added' as const, text })),
    ]),
    ...a.slice(a.length - tail).map((text) => ({ kind: 'same' as const, text })),
  ];
  return {
    lines,
    added: lines.filter((line) => line.kind === 'added').length,
    removed: lines.filter((line) => line.kind === 'removed').length,
    truncated,
    approximate: middle === null,
  };
}

/** The shortest edit script from `a` to `b`, or null when it needs more than `maxEdits` edits. */
function myers(a: string[], b: string[], maxEdits: number): DiffLine[] | null {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) {
    return [...a.map((text) => ({ kind: 'removed' as const, text })), ...b.map((text) => ({ kind: 'added' as const, text }))];
  }
  // Lines compared as small integers, not strings, in the hot loop.
  const ids = new Map<string, number>();
  const idOf = (line: string) => ids.get(line) ?? (ids.set(line, ids.size), ids.size - 1);
  const ia = Int32Array.from(a, idOf);
  const ib = Int32Array.from(b, idOf);

  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] keeps v for diagonals -d-1 … d+1 as they were before step d (what backtracking reads).
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && ia[x] === ib[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace);
    }
  }
  return null;
}

function backtrack(a: string[], b: string[], trace: Int32Array[]): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const at = (k: number) => trace[d]![k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ kind: 'same', text: a[--x]! });
      y--;
    }
    if (d > 0) {
      if (x === prevX) out.push({ kind: 'added', text: b[--y]! });
      else out.push({ kind: 'removed', text: a[--x]! });
    }
  }
  return out.reverse();
}

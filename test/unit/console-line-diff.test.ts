import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffLines, type DiffLine } from '../../console/src/admin/line-diff.js';

const render = (lines: DiffLine[]) => lines.map((line) => `${{ same: ' ', added: '+', removed: '-' }[line.kind]}${line.text}`);
const side = (lines: DiffLine[], kind: 'added' | 'removed') => lines.filter((line) => line.kind !== kind).map((line) => line.text);

/** The length of the longest common subsequence, by the textbook O(N·M) table (for small inputs). */
function lcsLength(a: string[], b: string[]): number {
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      table[i]![j] = a[i - 1] === b[j - 1] ? table[i - 1]![j - 1]! + 1 : Math.max(table[i - 1]![j]!, table[i]![j - 1]!);
    }
  }
  return table[a.length]![b.length]!;
}

describe('the console line diff', () => {
  it('shows a changed line as removed, then added, between unchanged lines', () => {
    const diff = diffLines('{\n  "effect": "ALLOW",\n  "id": "a"\n}', '{\n  "effect": "BLOCK",\n  "id": "a"\n}');
    expect(render(diff.lines)).toEqual([' {', '-  "effect": "ALLOW",', '+  "effect": "BLOCK",', '   "id": "a"', ' }']);
    expect(diff).toMatchObject({ added: 1, removed: 1, truncated: false, approximate: false });
  });

  it('reports no change for equal texts, and everything added from an empty one', () => {
    expect(diffLines('a\nb', 'a\nb')).toMatchObject({ added: 0, removed: 0 });
    expect(render(diffLines('', 'a\nb').lines)).toEqual(['+a', '+b']);
    expect(render(diffLines('a\nb', '').lines)).toEqual(['-a', '-b']);
  });

  it('finds a shortest edit script: both texts are recovered and unchanged lines form a longest common subsequence', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd', ''), { maxLength: 30 }).map((lines) => lines.join('\n'));
    fc.assert(
      fc.property(text, text, (before, after) => {
        const diff = diffLines(before, after);
        const a = before === '' ? [] : before.split('\n');
        const b = after === '' ? [] : after.split('\n');
        expect(side(diff.lines, 'added')).toEqual(a);
        expect(side(diff.lines, 'removed')).toEqual(b);
        expect(diff.lines.filter((line) => line.kind === 'same').length).toBe(lcsLength(a, b));
      }),
      { numRuns: 500 },
    );
  });

  it('compares only the first lines of a huge text, and says so', () => {
    const long = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
    const diff = diffLines(long, `${long}\nmore`, { maxLines: 10, maxEdits: 100 });
    expect(diff.truncated).toBe(true);
    expect(diff.lines).toHaveLength(10);
    expect(diff.added).toBe(0);
  });

  it('gives up on a shortest script past the edit bound, and still shows every line once', () => {
    const a = Array.from({ length: 50 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 50 }, (_, i) => `b${i}`);
    const diff = diffLines(['same', ...a, 'end'].join('\n'), ['same', ...b, 'end'].join('\n'), { maxLines: 1_000, maxEdits: 10 });
    expect(diff.approximate).toBe(true);
    expect(render(diff.lines)).toEqual([' same', ...a.map((line) => `-${line}`), ...b.map((line) => `+${line}`), ' end']);
  });

  it('diffs two documents of thousands of lines with a few changes quickly enough for a page', () => {
    const lines = Array.from({ length: 5_000 }, (_, i) => `  "line": ${i},`);
    const changed = lines.map((line, i) => (i % 1_000 === 500 ? `${line} // changed` : line));
    const diff = diffLines(lines.join('\n'), changed.join('\n'));
    expect(diff).toMatchObject({ added: 5, removed: 5, truncated: false, approximate: false });
  });
});

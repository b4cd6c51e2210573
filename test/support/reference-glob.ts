/**
 * A deliberately naive matcher of Greenlight's glob language (src/policy/globs.ts), written apart
 * from the engine for differential tests: braces expanded by string surgery, then a recursive
 * backtracking match over the characters. Exponential in the worst case, so only for the short
 * globs and values of tests.
 */

/** The brace-free globs a glob stands for. */
function expandBraces(glob: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '\\') {
      i++;
      continue;
    }
    if (char === '[') {
      // Skip a class: braces inside it are characters.
      i++;
      if (glob[i] === '!' || glob[i] === '^') i++;
      if (glob[i] === ']') i++;
      while (i < glob.length && glob[i] !== ']') i += glob[i] === '\\' ? 2 : 1;
      continue;
    }
    if (char === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (char === ',' && depth === 1) commas.push(i);
    else if (char === '}') {
      depth--;
      if (depth === 0) {
        const cuts = [open, ...commas, i];
        const head = glob.slice(0, open);
        const tail = glob.slice(i + 1);
        return cuts.slice(0, -1).flatMap((cut, k) => expandBraces(head + glob.slice(cut + 1, cuts[k + 1]) + tail));
      }
    }
  }
  return [glob];
}

function classMatches(glob: string, start: number, char: string): { matched: boolean; end: number } {
  let i = start + 1;
  let negated = false;
  if (glob[i] === '!' || glob[i] === '^') {
    negated = true;
    i++;
  }
  let matched = false;
  let first = true;
  while (first || glob[i] !== ']') {
    first = false;
    let low = glob[i]!;
    if (low === '\\') low = glob[++i]!;
    i++;
    let high = low;
    if (glob[i] === '-' && glob[i + 1] !== ']') {
      high = glob[i + 1]!;
      i += 2;
      if (high === '\\') high = glob[i++]!;
    }
    if (char >= low && char <= high) matched = true;
  }
  return { matched: char !== '/' && matched !== negated, end: i + 1 };
}

/** Is the `**` at `i` a whole segment? */
function globstarAt(glob: string, i: number): boolean {
  if (glob[i] !== '*' || glob[i + 1] !== '*') return false;
  let end = i;
  while (glob[end] === '*') end++;
  return (i === 0 || glob[i - 1] === '/') && (end === glob.length || glob[end] === '/');
}

function matchFrom(glob: string, g: number, value: string, v: number): boolean {
  if (g === glob.length) return v === value.length;
  const char = glob[g]!;
  if (char === '/' && glob.slice(g + 1).replace(/\*+/, '**') === '**' && globstarAt(glob, g + 1)) {
    // A trailing `/**` also matches nothing at all, slash included.
    return v === value.length || value[v] === '/';
  }
  if (globstarAt(glob, g)) {
    let end = g;
    while (glob[end] === '*') end++;
    if (end === glob.length) return true; // `**` alone, or after a slash already matched
    // Zero segments: skip `**/`; or one more segment of the value, then try again.
    if (matchFrom(glob, end + 1, value, v)) return true;
    for (let k = v; k < value.length; k++) if (value[k] === '/' && matchFrom(glob, g, value, k + 1)) return true;
    return false;
  }
  if (char === '*') {
    let end = g;
    while (glob[end] === '*') end++;
    const segmentStart = g === 0 || glob[g - 1] === '/';
    const segmentEnd = end === glob.length || glob[end] === '/';
    const least = segmentStart && segmentEnd ? 1 : 0;
    for (let k = v + least; k <= value.length; k++) {
      if (value.slice(v, k).includes('/')) break;
      if (matchFrom(glob, end, value, k)) return true;
    }
    return false;
  }
  if (v >= value.length) return false;
  if (char === '?') return value[v] !== '/' && matchFrom(glob, g + 1, value, v + 1);
  if (char === '[') {
    const { matched, end } = classMatches(glob, g, value[v]!);
    return matched && matchFrom(glob, end, value, v + 1);
  }
  if (char === '\\') return value[v] === glob[g + 1] && matchFrom(glob, g + 2, value, v + 1);
  return value[v] === char && matchFrom(glob, g + 1, value, v + 1);
}

/** Does `value` match `glob` (a glob `globProblem` accepts)? An empty value never does. */
export function referenceGlobMatches(glob: string, value: string): boolean {
  return value !== '' && expandBraces(glob).some((one) => matchFrom(one, 0, value, 0));
}

import { RE2JS } from 're2js';

/**
 * Greenlight's globs: the patterns of policy rules (`actions`, `resources`), delegations and audit
 * filters. Matching takes time linear in the value, whatever the glob: a glob is translated into
 * an RE2 expression and run by `re2js`, whose automaton never backtracks (a backtracking matcher
 * took 48 s on `prod/*-*-*-*` against a 990-character resource), or, for the common shapes, by
 * plain string comparisons.
 *
 * The language, with `/` as the separator:
 * - `*`: any run of characters other than `/`; a segment that is only `*` needs at least one.
 * - `**` as a whole segment: any number of segments, none included (`prod/**` matches `prod` and
 *   `prod/a/b`; `**`/x matches `x`; `a/**`/b matches `a/b`). Elsewhere it means `*`.
 * - `?`: one character other than `/`.
 * - `[abc]`, `[a-z]`, `[!a]` or `[^a]`: one character of (or not of) the class, never `/`.
 * - `{a,b}`: either alternative; alternatives may hold any of the above and nest.
 * - `\c`: the character `c` itself.
 * Everything else stands for itself. Refused (`globProblem`): a leading `!`, `(`, `)` and `|`
 * (picomatch's negation and extglobs), `[:alpha:]` classes, `/` inside a class, more than
 * GLOB_LIMITS.maxAlternatives combinations of braces.
 */
export type Matcher = (value: string) => boolean;

export const GLOB_LIMITS = {
  maxLength: 256,
  /** Combinations the braces of one glob may expand to. */
  maxAlternatives: 64,
} as const;

type Item =
  | { kind: 'text'; text: string }
  | { kind: 'separator' }
  | { kind: 'star'; double: boolean }
  | { kind: 'one' }
  | { kind: 'class'; negated: boolean; members: string }
  | { kind: 'braces'; alternatives: Item[][] };

class GlobSyntaxError extends Error {}

/** Parses a glob into items; throws a GlobSyntaxError with a sentence for the author. */
function parse(glob: string): Item[] {
  let i = 0;
  const classAt = (): Item => {
    i++; // [
    let negated = false;
    if (glob[i] === '!' || glob[i] === '^') {
      negated = true;
      i++;
    }
    let members = '';
    let first = true;
    for (;;) {
      if (i >= glob.length) throw new GlobSyntaxError("has an unclosed '['");
      let char = glob[i]!;
      if (char === ']' && !first) break;
      first = false;
      if (char === '[' && glob[i + 1] === ':') throw new GlobSyntaxError('uses a [:class:], which is not supported: list the characters');
      if (char === '\\') {
        if (i + 1 >= glob.length) throw new GlobSyntaxError("has an unclosed '['");
        char = glob[++i]!;
      }
      if (char === '/') throw new GlobSyntaxError('has / inside [ ]: a class matches one character of a segment, never /');
      if (glob[i + 1] === '-' && i + 2 < glob.length && glob[i + 2] !== ']') {
        let high = glob[i + 2]!;
        let next = i + 3;
        if (high === '\\' && i + 3 < glob.length) high = glob[next++]!;
        if (high === '/' || high < char) throw new GlobSyntaxError(`has a bad range ${char}-${high} in [ ]`);
        if (char < '/' && high > '/')
          throw new GlobSyntaxError(`has a range ${char}-${high} in [ ] that spans /, which a class never matches`);
        members += `${escapeRe2(char)}-${escapeRe2(high)}`;
        i = next;
        continue;
      }
      members += escapeRe2(char);
      i++;
    }
    i++; // ]
    return { kind: 'class', negated, members };
  };
  const sequence = (inBraces: boolean): Item[] => {
    const items: Item[] = [];
    const text = (value: string) => {
      const last = items.at(-1);
      if (last?.kind === 'text') last.text += value;
      else items.push({ kind: 'text', text: value });
    };
    while (i < glob.length) {
      const char = glob[i]!;
      if (inBraces && (char === ',' || char === '}')) return items;
      if (char === '\\') {
        if (i + 1 >= glob.length) throw new GlobSyntaxError('ends with a lone \\: write \\\\ for a backslash');
        // `/` means the separator, escaped or not.
        if (glob[i + 1] === '/') items.push({ kind: 'separator' });
        else text(glob[i + 1]!);
        i += 2;
      } else if (char === '*') {
        let stars = 0;
        while (glob[i] === '*') (stars++, i++);
        items.push({ kind: 'star', double: stars >= 2 });
      } else if (char === '?') {
        items.push({ kind: 'one' });
        i++;
      } else if (char === '/') {
        items.push({ kind: 'separator' });
        i++;
      } else if (char === '[') {
        items.push(classAt());
      } else if (char === '{') {
        i++;
        const alternatives = [sequence(true)];
        while (glob[i] === ',') {
          i++;
          alternatives.push(sequence(true));
        }
        if (glob[i] !== '}') throw new GlobSyntaxError("has an unclosed '{'");
        if (alternatives.length < 2) throw new GlobSyntaxError('has braces without a comma: {a,b} needs at least two alternatives');
        i++;
        items.push({ kind: 'braces', alternatives });
      } else if (char === '}' || char === ']') {
        throw new GlobSyntaxError(`has an unbalanced '${char}'`);
      } else if (char === '(' || char === ')' || char === '|') {
        throw new GlobSyntaxError(`uses '${char}', which is not glob syntax here: write alternatives as {a,b}, or escape it as \\${char}`);
      } else {
        text(char);
        i++;
      }
    }
    return items;
  };
  if (glob.startsWith('!'))
    throw new GlobSyntaxError(
      'starts with !, which would negate it: negation is not supported (write a rule for what you mean, or escape it as \\!)',
    );
  return sequence(false);
}

/** Every brace-free sequence a parsed glob stands for; throws past the alternatives limit. */
function expand(items: readonly Item[]): Item[][] {
  let results: Item[][] = [[]];
  for (const item of items) {
    if (item.kind !== 'braces') {
      for (const result of results) result.push(item);
      continue;
    }
    const options = item.alternatives.flatMap(expand);
    if (results.length * options.length > GLOB_LIMITS.maxAlternatives) {
      throw new GlobSyntaxError(`has braces that make more than ${GLOB_LIMITS.maxAlternatives} alternatives`);
    }
    results = results.flatMap((result) => options.map((option) => [...result, ...option]));
  }
  return results.map(joinStars);
}

/** Stars that braces put side by side are one wildcard, as if written together (`{a,*}*` has `**`). */
function joinStars(sequence: Item[]): Item[] {
  const joined: Item[] = [];
  for (const item of sequence) {
    const last = joined.at(-1);
    if (item.kind === 'star' && last?.kind === 'star') joined[joined.length - 1] = { kind: 'star', double: true };
    else if (item.kind === 'text' && last?.kind === 'text') joined[joined.length - 1] = { kind: 'text', text: last.text + item.text };
    else joined.push(item);
  }
  return joined;
}

/** A character as RE2 reads it literally. */
function escapeRe2(char: string): string {
  return /[A-Za-z0-9]/.test(char) || char.charCodeAt(0) > 0x7f ? char : `\\${char}`;
}

type Segment = Item[] | 'globstar';

function segmentsOf(sequence: readonly Item[]): Segment[] {
  const segments: Item[][] = [[]];
  for (const item of sequence) {
    if (item.kind === 'separator') segments.push([]);
    else segments.at(-1)!.push(item);
  }
  const isGlobstar = (segment: Item[]) => segment.length === 1 && segment[0]!.kind === 'star' && segment[0]!.double;
  const marked = segments.map((segment): Segment => (isGlobstar(segment) ? 'globstar' : segment));
  // `a/**/**/b` means `a/**/b`.
  return marked.filter((segment, i) => !(segment === 'globstar' && marked[i - 1] === 'globstar'));
}

function segmentRe2(segment: Item[]): string {
  // A segment that is only stars matches at least one character, as in picomatch.
  if (segment.length > 0 && segment.every((item) => item.kind === 'star')) return '[^/]+';
  return segment
    .map((item) => {
      switch (item.kind) {
        case 'text':
          return [...item.text].map(escapeRe2).join('');
        case 'star':
          return '[^/]*';
        case 'one':
          return '[^/]';
        case 'class':
          return item.negated ? `[^/${item.members}]` : `[${item.members}]`;
        default:
          throw new Error(`unexpected ${item.kind} in a segment`);
      }
    })
    .join('');
}

/** One brace-free sequence as an RE2 expression matching the whole value. */
function sequenceRe2(sequence: readonly Item[]): string {
  const segments = segmentsOf(sequence);
  if (segments.length === 1 && segments[0] === 'globstar') return '.+';
  let out = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === 'globstar') {
      // Leading: any segments and their slash; middle: after the slash, any segments and theirs;
      // trailing: the slash before it and anything after, or nothing at all.
      out += i === 0 ? '(?:.*/)?' : last ? '(?:/.*)?' : '/(?:.*/)?';
      return;
    }
    if (i > 0 && segments[i - 1] !== 'globstar') out += '/';
    out += segmentRe2(segment);
  });
  return out;
}

/** Matchers for the shapes most globs have, by plain string operations; null for the rest. */
function plainMatcher(sequence: readonly Item[]): Matcher | null {
  const literal = (items: readonly Item[]) => items.every((item) => item.kind === 'text' || item.kind === 'separator');
  const textOf = (items: readonly Item[]) => items.map((item) => (item.kind === 'text' ? item.text : '/')).join('');
  if (literal(sequence)) {
    // An empty alternative (`{,x}`) matches nothing: an empty value never matches.
    const text = textOf(sequence);
    return text === '' ? () => false : (value) => value === text;
  }
  const last = sequence.at(-1)!;
  const head = sequence.slice(0, -1);
  if (last.kind !== 'star' || !literal(head)) return null;
  const prefix = textOf(head);
  const segments = segmentsOf(sequence);
  if (segments.at(-1) === 'globstar') {
    // `prod/**`: `prod` itself or anything under it; `**` alone: anything.
    if (segments.length === 1) return (value) => value !== '';
    const base = prefix.slice(0, -1);
    return (value) => value !== '' && (value === base || value.startsWith(prefix));
  }
  // `deploy.*`, `prod/api-*`: the prefix, then no separator; `prod/*` needs one character more.
  const wholeSegment = prefix === '' || prefix.endsWith('/');
  return (value) => value.startsWith(prefix) && value.indexOf('/', prefix.length) === -1 && (!wholeSegment || value.length > prefix.length);
}

/** Why `glob` is not a valid glob, or null. */
export function globProblem(glob: string): string | null {
  if (glob.length === 0) return 'must not be empty';
  if (glob.length > GLOB_LIMITS.maxLength) return `must be at most ${GLOB_LIMITS.maxLength} characters`;
  if (/[\s\p{Cc}]/u.test(glob)) return 'must not contain white space or control characters';
  try {
    expand(parse(glob));
    return null;
  } catch (error) {
    if (error instanceof GlobSyntaxError) return error.message;
    throw error;
  }
}

/**
 * Compiles one glob (checked with `globProblem` first: an invalid one throws). The matcher runs
 * in time linear in the value's length; an empty value never matches.
 */
export function compileGlob(glob: string): Matcher {
  const sequences = expand(parse(glob));
  const plain = sequences.map(plainMatcher);
  if (plain.every((matcher) => matcher !== null)) {
    if (plain.length === 1) return plain[0]!;
    return (value) => plain.some((matcher) => matcher!(value));
  }
  const regex = RE2JS.compile(sequences.map(sequenceRe2).join('|'), RE2JS.DOTALL);
  return (value) => value !== '' && regex.matches(value);
}

/** Compiles a glob list once per distinct glob; `cache` is shared across one policy's rules. */
export function compileGlobs(globs: readonly string[], cache: Map<string, Matcher>): Matcher {
  const matchers = globs.map((glob) => {
    let matcher = cache.get(glob);
    if (!matcher) {
      matcher = compileGlob(glob);
      cache.set(glob, matcher);
    }
    return matcher;
  });
  if (matchers.length === 1) return matchers[0]!;
  return (value) => {
    for (const match of matchers) if (match(value)) return true;
    return false;
  };
}

/** Plain characters: a glob of only these matches itself alone. */
const LITERAL = /^[A-Za-z0-9_:-]+(?:[./][A-Za-z0-9_:-]+)*$/;

/** Where a glob goes in a prefix index over values whose segments are separated by `separator`. */
export type IndexKey =
  /** Every value the glob matches has this first segment. */
  | { kind: 'segment'; key: string }
  /** Every value the glob matches starts with this, which holds no separator. */
  | { kind: 'prefix'; prefix: string }
  /** Nothing is known: the glob is checked for every value. */
  | { kind: 'any' };

/**
 * What every string a glob matches must start with, as far as it can be known without
 * interpreting the glob: the leading run of plain characters. A glob starting with anything else
 * goes to `any`. A slash right before a globstar may vanish (`prod/**` matches `prod`), so a
 * trailing slash is not part of the prefix; the segment before it still is the first segment of
 * every match.
 */
export function indexKey(glob: string, separator: '.' | '/'): IndexKey {
  const firstSegment = (text: string) => {
    const cut = text.indexOf(separator);
    return cut < 0 ? text : text.slice(0, cut);
  };
  if (LITERAL.test(glob)) return { kind: 'segment', key: firstSegment(glob) };
  if (!/^[A-Za-z0-9]/.test(glob)) return { kind: 'any' };
  const run = /^[A-Za-z0-9_:.\/-]*/.exec(glob)![0];
  const stable = run.replace(/\/+$/, '');
  const cut = (separator === '/' ? run : stable).indexOf(separator);
  if (cut >= 0) return { kind: 'segment', key: run.slice(0, cut) };
  return stable.length > 0 ? { kind: 'prefix', prefix: stable } : { kind: 'any' };
}

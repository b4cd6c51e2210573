import picomatch from 'picomatch';

export type Matcher = (value: string) => boolean;

// `dot: true` so `prod/**` also matches `prod/.well-known`; resources are names, not files.
export const GLOB_OPTIONS = { dot: true } as const;

/**
 * A glob with nothing for picomatch to interpret: segments of plain characters joined by single
 * dots or slashes. picomatch matches such a glob exactly by string equality, so no regular
 * expression is built for it (most action globs of a real policy, `deploy.update`, are like this).
 */
const LITERAL = /^[A-Za-z0-9_:-]+(?:[./][A-Za-z0-9_:-]+)*$/;

/**
 * Compiles one glob exactly as `picomatch(glob, GLOB_OPTIONS)` matches, without its per-call
 * bookkeeping (picomatch's matcher builds a result object per call; `RegExp#test` alone is
 * several times faster): an empty input never matches, the glob itself always does.
 */
export function compileGlob(glob: string): Matcher {
  if (LITERAL.test(glob)) return (value) => value === glob;
  const regex = picomatch.makeRe(glob, GLOB_OPTIONS);
  return (value) => value !== '' && (value === glob || regex.test(value));
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
 * interpreting the glob: the leading run of plain characters. picomatch treats a glob starting
 * with anything else specially (`*`, `{`, `!` negates, `./` is dropped), so those go to `any`.
 * A slash right before a globstar may vanish (`prod/**` matches `prod`), so a trailing slash is
 * not part of the prefix; the segment before it still is the first segment of every match.
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

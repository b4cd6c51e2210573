/**
 * The paths a policy's `redact` list names: where a request carries values nobody but an ADMIN
 * may read back (passwords, tokens, personal data). Pure: parsing and validation only; the
 * values are replaced by `src/audit/redaction.ts`.
 *
 * A path is `params.` or `context.` followed by dot-separated keys, e.g. `params.password`,
 * `params.db.credentials.*`, `context.customer_email`. A `*` segment stands for every key of an
 * object (or every element of a list); a segment of digits also names a list element.
 */

/** The parts of a request a path may point into. */
export type RedactionRoot = 'params' | 'context';

export interface RedactionPath {
  root: RedactionRoot;
  /** The keys below the root; `*` matches any key or list element. At least one. */
  segments: string[];
}

export const REDACTION_LIMITS = {
  maxPaths: 100,
  maxPathLength: 200,
  /** Segments below the root. */
  maxDepth: 10,
} as const;

// A key: anything but dots, white space and control characters. `*` alone is the wildcard.
const SEGMENT = /^[^.\s\p{Cc}]+$/u;

/** Parses one path, or returns what is wrong with it. */
export function parseRedactionPath(text: unknown): RedactionPath | { problem: string } {
  if (typeof text !== 'string' || text.length === 0) return { problem: 'must be a non-empty string such as "params.password"' };
  if (text.length > REDACTION_LIMITS.maxPathLength) return { problem: `must be at most ${REDACTION_LIMITS.maxPathLength} characters` };
  const [root, ...segments] = text.split('.');
  if (root !== 'params' && root !== 'context') return { problem: `must start with "params." or "context." (got ${JSON.stringify(text)})` };
  if (segments.length === 0)
    return { problem: `must name a key below ${root}, e.g. "${root}.password" (the whole ${root} cannot be redacted)` };
  if (segments.length > REDACTION_LIMITS.maxDepth) return { problem: `must be at most ${REDACTION_LIMITS.maxDepth} keys deep` };
  const bad = segments.find((segment) => !SEGMENT.test(segment) || (segment.includes('*') && segment !== '*'));
  if (bad !== undefined) {
    return {
      problem: `has an invalid key ${JSON.stringify(bad)}: keys are separated by single dots, without spaces; "*" stands alone for any key`,
    };
  }
  if (root === 'context' && segments.length > 1) return { problem: 'context values are strings: name one label, e.g. "context.ticket"' };
  return { root, segments };
}

/** Every problem with a `redact` list, by index (`field` is `redact[i]`). */
export function redactionPathProblems(paths: unknown): { field: string; message: string }[] {
  if (!Array.isArray(paths)) return [{ field: 'redact', message: 'must be a list of paths such as "params.password"' }];
  const problems: { field: string; message: string }[] = [];
  if (paths.length > REDACTION_LIMITS.maxPaths)
    problems.push({ field: 'redact', message: `must list at most ${REDACTION_LIMITS.maxPaths} paths` });
  const seen = new Set<string>();
  paths.forEach((path, i) => {
    const parsed = parseRedactionPath(path);
    if ('problem' in parsed) problems.push({ field: `redact[${i}]`, message: parsed.problem });
    else if (seen.has(path as string)) problems.push({ field: `redact[${i}]`, message: `duplicate path ${JSON.stringify(path)}` });
    seen.add(path as string);
  });
  return problems;
}

/** Parses a list already validated (stored policies, request snapshots); invalid entries are skipped. */
export function parseRedactionPaths(paths: readonly string[]): RedactionPath[] {
  return paths.map(parseRedactionPath).filter((path): path is RedactionPath => !('problem' in path));
}

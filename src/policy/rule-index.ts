import { indexKey } from './globs.js';

/**
 * Which rules can possibly match a request, so that evaluation looks at a handful of rules
 * instead of all of them. Rules are bucketed by the first segment (or literal prefix) of their
 * action globs (`deploy.*` → `deploy`), and inside each action bucket by the first segment of
 * their resource globs (`prod/**` → `prod`). A glob starting with a wildcard goes to the bucket
 * checked for every request. The index only narrows: every candidate is still fully matched, and
 * a rule outside the candidates provably cannot match the request's action or resource (the
 * differential test checks this against a naive evaluator).
 */
interface Buckets<T> {
  separator: '.' | '/';
  /** By the first segment of the value (up to the separator). */
  segments: Map<string, T>;
  /** By a literal prefix of the first segment (`dep*`). */
  prefixes: Map<string, T>;
  /** Globs that say nothing about the value's start. */
  any: T | null;
  /** Whether every segment bucket already holds the `any` rules (so one bucket is enough). */
  anyMerged: boolean;
}

/** Extra entries that copying the `any` rules into every segment bucket may cost, per level. */
const MERGE_BUDGET = 200_000;

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (out.at(-1) !== next) out.push(next);
  }
  return out;
}

function bucketize(
  items: ReadonlyArray<{ position: number; globs: readonly string[] }>,
  separator: '.' | '/',
  mergeBudget: number,
): Buckets<number[]> {
  const buckets: Buckets<number[]> = { separator, segments: new Map(), prefixes: new Map(), any: null, anyMerged: false };
  const add = (list: number[], position: number) => {
    // Items arrive in policy order, so a rule listed twice (two globs, one bucket) is the last one.
    if (list.at(-1) !== position) list.push(position);
    return list;
  };
  for (const { position, globs } of items) {
    for (const glob of globs) {
      const key = indexKey(glob, separator);
      if (key.kind === 'any') buckets.any = add(buckets.any ?? [], position);
      else {
        const map = key.kind === 'segment' ? buckets.segments : buckets.prefixes;
        const name = key.kind === 'segment' ? key.key : key.prefix;
        map.set(name, add(map.get(name) ?? [], position));
      }
    }
  }
  // Policy-wide rules (`*`) would otherwise be a second bucket to visit and merge on every request.
  const { any } = buckets;
  if (any !== null && buckets.segments.size * any.length <= mergeBudget) {
    for (const [key, list] of buckets.segments) buckets.segments.set(key, mergeSorted(list, any));
    buckets.anyMerged = true;
  }
  return buckets;
}

function mapBuckets<T, U>(buckets: Buckets<T>, f: (value: T) => U): Buckets<U> {
  const map = (m: Map<string, T>) => new Map([...m].map(([k, v]) => [k, f(v)] as const));
  return {
    separator: buckets.separator,
    segments: map(buckets.segments),
    prefixes: map(buckets.prefixes),
    any: buckets.any === null ? null : f(buckets.any),
    anyMerged: buckets.anyMerged,
  };
}

/** Appends to `found` every bucket that may hold rules matching `value`. */
function visit<T>(buckets: Buckets<T>, value: string, found: T[]): void {
  const cut = value.indexOf(buckets.separator);
  const segment = cut < 0 ? value : value.slice(0, cut);
  const exact = buckets.segments.get(segment);
  if (exact !== undefined) found.push(exact);
  const { prefixes } = buckets;
  if (prefixes.size > 0) {
    if (prefixes.size <= segment.length) {
      for (const [prefix, bucket] of prefixes) if (segment.startsWith(prefix)) found.push(bucket);
    } else {
      for (let end = 1; end <= segment.length; end++) {
        const bucket = prefixes.get(segment.slice(0, end));
        if (bucket !== undefined) found.push(bucket);
      }
    }
  }
  if (buckets.any !== null && !(buckets.anyMerged && exact !== undefined)) found.push(buckets.any);
}

export interface RuleIndex {
  /** Positions (in policy order, ascending, without repeats) of the rules that may match. */
  candidates(action: string, resource: string): readonly number[];
}

export interface IndexedRule {
  actions: readonly string[];
  resources: readonly string[];
}

const NONE: readonly number[] = [];

/** `mergeBudget` is for tests: 0 keeps policy-wide rules in their own bucket everywhere. */
export function buildRuleIndex(rules: readonly IndexedRule[], { mergeBudget = MERGE_BUDGET } = {}): RuleIndex {
  const byAction = bucketize(
    rules.map((rule, position) => ({ position, globs: rule.actions })),
    '.',
    mergeBudget,
  );
  const index = mapBuckets(byAction, (positions) =>
    bucketize(
      positions.map((position) => ({ position, globs: rules[position]!.resources })),
      '/',
      mergeBudget,
    ),
  );
  // Scratch space, reused: evaluation is synchronous, so no two lookups ever overlap.
  const actionBuckets: Buckets<number[]>[] = [];
  const lists: number[][] = [];
  return {
    candidates(action, resource) {
      actionBuckets.length = 0;
      lists.length = 0;
      visit(index, action, actionBuckets);
      for (const byResource of actionBuckets) visit(byResource, resource, lists);
      if (lists.length <= 1) return lists[0] ?? NONE;
      const merged = lists.flat().sort((a, b) => a - b);
      let length = 0;
      for (const position of merged) if (length === 0 || merged[length - 1] !== position) merged[length++] = position;
      merged.length = length;
      return merged;
    },
  };
}

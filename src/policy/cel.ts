/**
 * CEL conditions (`when`): one environment, compiled and type-checked when a policy is published,
 * evaluated in memory with the request as variables.
 *
 * Library: `@marcbachmann/cel-js` 8, chosen over `@bufbuild/cel` 0.6 by a throwaway comparison on
 * this project's 2-core machine (Node 20, five realistic conditions, compile = parse + check):
 *
 *   condition                                        cel-js compile / eval   bufbuild compile / eval
 *   params.replicas > 10                               24 µs / 268 ns            78 µs / 929 ns
 *   agent.labels.team == "payments"                     2 µs / 146 ns            24 µs / 1228 ns
 *   now.getHours("Europe/Paris") >= 9 && …DayOfWeek…   25 µs / 143 µs (!)       52 µs / 119 µs (!)
 *   "hotfix" in context && context.hotfix == "true"     4 µs / 209 ns            48 µs / 1426 ns
 *   size(reason) > 10                                  11 µs / 280 ns            20 µs / 463 ns
 *
 * cel-js evaluates 2–8× faster and, decisively, exposes a type checker over declared variables
 * (`action + 1` and `unknownVar == 1` are refused at publish time); bufbuild 0.6 keeps its checker
 * out of its package exports, so those mistakes would only surface as runtime errors. bufbuild
 * scored better on a 23-case conformance probe (23/23 against 20/23: cel-js refuses `1 == 1.0`,
 * `[1, "a"]` and `has()` on a map literal at check time), none of which a policy needs.
 *
 * Both libraries build a fresh `Intl` formatter per time-zone call (~70 µs each, marked (!)), far
 * over the engine's budget. The `now` handed to CEL therefore carries its own `toLocaleString`,
 * which cel-js's timezone-aware getters call, answering from a cached formatter and a cached UTC
 * offset (see `zonedLocaleString`): the business-hours condition above takes 1.7 µs instead of 143.
 *
 * Variables (what a condition sees):
 *   agent, onBehalfOf   Principal {id, name: string; groups: list<string>; labels: map<string, string>}.
 *                       No human on whose behalf → a Principal with id "" (test `onBehalfOf.id != ""`).
 *   action, resource    string
 *   reason              string ("" when the request has none)
 *   params              map<string, dyn>: the request's JSON; numbers are doubles (`params.n > 10`
 *                       works; arithmetic needs doubles: `params.n + 1.0`). Absent → {}.
 *   context             map<string, string>
 *   now                 google.protobuf.Timestamp; `now.getHours("Europe/Paris")`, `getDayOfWeek` (0 = Sunday)…
 * A missing key (`agent.labels.team` on an agent without it) is a runtime error, not false: see
 * `evaluatePolicy` for what an error does.
 */
import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { RE2JS } from 're2js';
import type { EvaluationInput, PolicySubject } from './types.js';

/** How CEL sees a principal; its own class so that field names are checked at publish time. */
class Principal {
  readonly id: string;
  readonly name: string;
  readonly groups: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  constructor(subject: PolicySubject) {
    this.id = subject.id;
    this.name = subject.name;
    this.groups = subject.groups;
    this.labels = subject.labels;
  }
}

const NOBODY = new Principal({ id: '', name: '', groups: [], labels: {} });

export const CEL_LIMITS = {
  maxAstNodes: 2_000,
  maxDepth: 50,
  maxListElements: 1_000,
  maxMapEntries: 1_000,
  maxCallArguments: 32,
} as const;

const environment = new Environment({ limits: CEL_LIMITS })
  .registerType('Principal', {
    ctor: Principal,
    fields: { id: 'string', name: 'string', groups: 'list<string>', labels: 'map<string, string>' },
  })
  .registerVariable('agent', 'Principal')
  .registerVariable('onBehalfOf', 'Principal')
  .registerVariable('action', 'string')
  .registerVariable('resource', 'string')
  .registerVariable('reason', 'string')
  .registerVariable('params', 'map<string, dyn>')
  .registerVariable('context', 'map<string, string>')
  .registerVariable('now', 'google.protobuf.Timestamp');

/** The request as CEL variables; build it once per evaluation, only if a condition runs. */
export type CelActivation = Record<string, unknown>;

/** A compiled condition: true or false, or throws on a runtime error (missing key, wrong type). */
export type Condition = (activation: CelActivation) => boolean;

export type CompiledCondition = { condition: Condition; problem: null } | { condition: null; problem: string };

const TIMESTAMP_GETTERS = new Set([
  'getDate',
  'getDayOfMonth',
  'getDayOfWeek',
  'getDayOfYear',
  'getFullYear',
  'getHours',
  'getMilliseconds',
  'getMinutes',
  'getMonth',
  'getSeconds',
]);

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? message;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function located(error: { summary?: string; message: string; range?: { start: number } | undefined }): string {
  const text = firstLine(error.summary ?? error.message);
  return error.range ? `${text} (at column ${error.range.start + 1})` : text;
}

/** A node of a cel-js syntax tree: an operator and its arguments (nodes, lists of nodes, or values). */
interface CelNode {
  op: string;
  args: unknown;
  /** Set by cel-js's type checker on call nodes: what evaluates the call. */
  handle?: unknown;
}

/** Every node of a syntax tree, depth first, without recursion. */
function* nodesOf(ast: unknown): Generator<CelNode> {
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const current = stack.pop();
    if (Array.isArray(current)) {
      stack.push(...current);
      continue;
    }
    if (typeof current !== 'object' || current === null || !('op' in current)) continue;
    yield current as CelNode;
    stack.push((current as CelNode).args);
  }
}

/** The method calls of a syntax tree: `receiver.name(arguments)`. */
function* methodCalls(ast: unknown): Generator<{ node: CelNode; name: string; callArgs: unknown[] }> {
  for (const node of nodesOf(ast)) {
    if (node.op === 'rcall' && Array.isArray(node.args) && typeof node.args[0] === 'string') {
      // A method call's args: [name, receiver, [arguments]].
      const [name, , callArgs] = node.args as [string, unknown, unknown[] | undefined];
      yield { node, name, callArgs: callArgs ?? [] };
    }
  }
}

/** Literal arguments a condition passes to functions that would only fail at run time. */
function literalProblems(node: ASTNode): string | null {
  for (const { name, callArgs } of methodCalls(node)) {
    const first = callArgs[0] as { op?: string; args?: unknown } | undefined;
    const literal = first?.op === 'value' && typeof first.args === 'string' ? first.args : null;
    if (literal !== null && TIMESTAMP_GETTERS.has(name) && !isTimeZone(literal)) {
      return `${name}(${JSON.stringify(literal)}): unknown time zone; use an IANA name such as "Europe/Paris" or "UTC"`;
    }
    if (name === 'matches') {
      if (literal === null) return 'matches() takes a string literal as its pattern, compiled when the policy is published';
      try {
        RE2JS.compile(literal);
      } catch (error) {
        return `matches(${JSON.stringify(literal)}) is not an RE2 expression: ${firstLine((error as Error).message)}`;
      }
    }
  }
  return null;
}

/**
 * Makes every `matches()` of a checked condition run on RE2 (`re2js`), as the CEL specification
 * says, instead of cel-js's JavaScript `RegExp`: a backtracking engine takes exponential time on
 * patterns such as `^([0-9]+\\.?)+$` against input an agent controls (8 s for 31 characters),
 * RE2's automaton takes linear time. cel-js gives no way to replace a built-in function, so the
 * call nodes' handlers, which its type checker sets, are swapped; patterns are literals
 * (`literalProblems`), compiled here once.
 */
function matchWithRe2(ast: unknown): void {
  for (const { node, name, callArgs } of methodCalls(ast)) {
    if (name !== 'matches') continue;
    const pattern = RE2JS.compile((callArgs[0] as { args: string }).args);
    // cel-js calls it with the evaluated receiver and arguments.
    node.handle = ([text]: unknown[]) => {
      if (typeof text !== 'string') throw new Error(`matches() needs a string, not ${text === null ? 'null' : typeof text}`);
      return pattern.test(text);
    };
  }
}

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** Variables as large as the request (up to 64 KiB): read inside a loop over the request, quadratic. */
const REQUEST_SIZED = new Set(['params', 'context']);

/**
 * The part of a condition whose cost would grow with the square of the request's size, if any:
 * a comprehension inside another one's body, or `params` or `context` read inside a
 * comprehension's body (`params.l.exists(x, params.s.contains(x))` scans a 32 KiB string for
 * each of 16,000 elements).
 */
function quadraticPart(node: unknown, inBody: boolean): 'nested' | 'request' | null {
  if (Array.isArray(node)) {
    for (const child of node) {
      const part = quadraticPart(child, inBody);
      if (part) return part;
    }
    return null;
  }
  if (node === null || typeof node !== 'object' || !('op' in node)) return null;
  const { op, args } = node as { op: string; args: unknown };
  if (inBody && op === 'id' && typeof args === 'string' && REQUEST_SIZED.has(args)) return 'request';
  if (op === 'rcall' && Array.isArray(args) && typeof args[0] === 'string' && COMPREHENSIONS.has(args[0])) {
    if (inBody) return 'nested';
    const [, receiver, body] = args as [string, unknown, unknown];
    return quadraticPart(receiver, false) ?? quadraticPart(body, true);
  }
  return quadraticPart(args, inBody);
}

/**
 * Parses and type-checks a condition once. A problem is a sentence for the policy author,
 * carrying the CEL compiler's own message.
 */
export function compileCondition(expression: string): CompiledCondition {
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = environment.parse(expression);
  } catch (error) {
    return { condition: null, problem: `does not compile: ${located(error as Error)}` };
  }
  let checked: ReturnType<typeof parsed.check>;
  try {
    checked = parsed.check();
  } catch (error) {
    return { condition: null, problem: `does not type-check: ${located(error as Error)}` };
  }
  if (!checked.valid) {
    return { condition: null, problem: `does not type-check: ${checked.error ? located(checked.error) : 'unknown error'}` };
  }
  if (checked.type !== 'bool') {
    return {
      condition: null,
      problem: `must be a bool condition but has type ${checked.type}; compare the value, e.g. \`params.dryRun == true\``,
    };
  }
  const literal = literalProblems(parsed.ast);
  if (literal) return { condition: null, problem: `would fail at run time: ${literal}` };
  const quadratic = quadraticPart(parsed.ast, false);
  if (quadratic === 'nested') {
    return {
      condition: null,
      problem:
        'nests a comprehension (all, exists, exists_one, map, filter) inside another: its cost would grow with the square of the request size',
    };
  }
  if (quadratic === 'request') {
    return {
      condition: null,
      problem:
        'reads params or context inside the body of a comprehension (all, exists, exists_one, map, filter): its cost would grow with the square of the request size; test membership with `in` instead (`params.target in params.list`)',
    };
  }
  matchWithRe2(parsed.ast);
  return {
    condition: (activation) => {
      const value: unknown = parsed(activation);
      if (typeof value !== 'boolean') throw new Error(`returned ${typeof value}, not a bool`);
      return value;
    },
    problem: null,
  };
}

/** A CEL runtime error as one short line. */
export function celErrorMessage(error: unknown): string {
  return error instanceof Error ? located(error as Error & { summary?: string }) : firstLine(String(error));
}

export function celActivation(input: EvaluationInput): CelActivation {
  return {
    agent: new Principal(input.agent),
    onBehalfOf: input.onBehalfOf ? new Principal(input.onBehalfOf) : NOBODY,
    action: input.action,
    resource: input.resource,
    reason: input.reason ?? '',
    params: input.params ?? {},
    context: input.context,
    now: celNow(input.now),
  };
}

// ——— time zones ———

const zoneFormats = new Map<string, Intl.DateTimeFormat | null>();

function zoneFormat(zone: string): Intl.DateTimeFormat | null {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      format = null;
    }
    if (zoneFormats.size >= 1_000) zoneFormats.clear();
    zoneFormats.set(zone, format);
  }
  return format;
}

export function isTimeZone(zone: string): boolean {
  return zone.length > 0 && zoneFormat(zone) !== null;
}

/** Offset of the zone's wall clock from UTC at `ms` (whole seconds). */
function exactOffset(format: Intl.DateTimeFormat, ms: number): number {
  const part: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(ms)) part[type] = Number(value);
  const wall = Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!);
  return wall - (ms - (((ms % 1_000) + 1_000) % 1_000));
}

const QUARTER_HOUR = 900_000; // ms
const offsets = new Map<string, Map<number, number>>();
let cachedOffsets = 0;

/** Offsets change at most at a transition; cache per quarter hour when both ends agree. */
function offsetAt(zone: string, format: Intl.DateTimeFormat, ms: number): number {
  const bucket = Math.floor(ms / QUARTER_HOUR);
  let byBucket = offsets.get(zone);
  let offset = byBucket?.get(bucket);
  if (offset === undefined) {
    const start = bucket * QUARTER_HOUR;
    offset = exactOffset(format, start);
    if (exactOffset(format, start + QUARTER_HOUR - 1) !== offset) return exactOffset(format, ms);
    if (cachedOffsets >= 10_000) {
      offsets.clear();
      cachedOffsets = 0;
    }
    if (!byBucket) offsets.set(zone, (byBucket = new Map()));
    byBucket.set(bucket, offset);
    cachedOffsets++;
  }
  return offset;
}

/**
 * cel-js computes `getHours(zone)` and friends as `new Date(ts.toLocaleString('en-US', { timeZone }))`
 * read with local getters. This answers with the same wall-clock time as an ISO local-time string
 * (which `Date` parses as local time) from cached formatters and offsets, instead of building an
 * `Intl` formatter per call. The result is identical to cel-js's own, including its one quirk: a
 * wall-clock time that does not exist in the host's own zone (a DST gap there) is shifted by the
 * host; servers run in UTC.
 */
function zonedLocaleString(this: Date, locales?: Intl.LocalesArgument, options?: Intl.DateTimeFormatOptions): string {
  const zone = options?.timeZone;
  const format = zone === undefined ? null : zoneFormat(zone);
  if (format === null || zone === undefined) return Date.prototype.toLocaleString.call(this, locales, options);
  const ms = this.getTime();
  return new Date(ms + offsetAt(zone, format, ms)).toISOString().slice(0, -1);
}

/** The decision time as CEL's timestamp: a copy, so the caller's Date is never touched. */
function celNow(now: Date): Date {
  const copy = new Date(now.getTime());
  copy.toLocaleString = zonedLocaleString;
  return copy;
}

import { z } from 'zod';
import { InvalidInputError } from './errors.js';

/**
 * Building blocks for input schemas shared by the services. PostgreSQL text and jsonb cannot hold
 * the NUL character (U+0000): without these checks such input would fail inside the database as
 * an unexpected error instead of a typed invalid-input error.
 */
export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
export const UNICODE_MESSAGE = 'must be valid Unicode text (it holds a lone surrogate)';

/** Deepest nesting of JSON values (params, context) a request may carry. */
export const MAX_JSON_DEPTH = 32;

/** Whether a string is valid Unicode: no lone surrogate, which PostgreSQL's jsonb refuses. */
const wellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/** A string of at most `max` characters that PostgreSQL can store. */
export function storableText(max: number) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\u0000'), NUL_MESSAGE)
    .refine(wellFormed, UNICODE_MESSAGE);
}

/**
 * Why a JSON value cannot be stored, or is nested too deep to be accepted: a NUL character or a
 * lone surrogate in a key or a string (PostgreSQL's text and jsonb refuse both), or nesting
 * deeper than `maxDepth`; null when it is fine. It walks without recursion, so no input can
 * exhaust the stack, and stops at the first problem.
 */
export function jsonValueProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | null {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return NUL_MESSAGE;
      if (!wellFormed(current)) return UNICODE_MESSAGE;
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= maxDepth) return `must nest at most ${maxDepth} levels`;
    if (Array.isArray(current)) {
      for (const item of current) stack.push([item, depth + 1]);
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      stack.push([key, depth + 1], [item, depth + 1]);
    }
  }
  return null;
}

const MAX_LIFETIME_MS = 10 * 365 * 24 * 3_600_000; // 10 years

/**
 * When something granted stops working (a token, a delegation) must be in the future, at most ten
 * years ahead, by `now`: the database's time (`deps.clock`), so every instance judges alike.
 */
export function requireFutureExpiry(field: string, at: Date | null | undefined, now: Date): void {
  if (!at) return;
  const ms = at.getTime() - now.getTime();
  if (!(ms > 0 && ms <= MAX_LIFETIME_MS)) throw InvalidInputError.of(field, 'must be in the future, at most 10 years ahead');
}

/** Parses a service's input, or throws the typed invalid-input error naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw InvalidInputError.fromZod(parsed.error);
  return parsed.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid uuid; anything else cannot name a row and is simply not found. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

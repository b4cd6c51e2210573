import { z } from 'zod';
import { InvalidInputError } from './errors.js';

/**
 * Building blocks for input schemas shared by the services. PostgreSQL text and jsonb cannot hold
 * the NUL character (U+0000): without these checks such input would fail inside the database as
 * an unexpected error instead of a typed invalid-input error.
 */
export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

/** A string of at most `max` characters that PostgreSQL can store. */
export function storableText(max: number) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\u0000'), NUL_MESSAGE);
}

/** True when a JSON value holds a NUL character anywhere (keys or string values). */
export function jsonContainsNul(value: unknown): boolean {
  return JSON.stringify(value)?.includes('\\u0000') ?? false;
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

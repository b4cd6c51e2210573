import { inArray } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { auditRedactedValues } from '../db/schema.js';
import { REDACTION_MARKER_PREFIX, setOwn, type RedactedValue, type Redactor } from './redaction.js';

/** The values redacted from each of these events' data, by event id (events without any are absent). */
export async function listRedactedValues(db: Executor, eventIds: readonly number[]): Promise<Map<number, RedactedValue[]>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db
    .select()
    .from(auditRedactedValues)
    .where(inArray(auditRedactedValues.eventId, [...eventIds]));
  return new Map(rows.map((row) => [row.eventId, row.redacted]));
}

/**
 * `data` with the redacted values put back, for ADMIN. A value goes back only where its marker
 * still stands and matches it (the marker is a keyed hash of the value), so a value changed
 * beside the chain never shows as if it had been logged.
 */
export function revealRedacted<T>(redactor: Redactor, data: T, redacted: readonly RedactedValue[]): T {
  if (redacted.length === 0) return data;
  const copy = structuredClone(data);
  for (const { path, value } of redacted) {
    let parent: unknown = copy;
    for (const key of path.slice(0, -1))
      parent = typeof parent === 'object' && parent !== null ? (parent as Record<string | number, unknown>)[key] : undefined;
    const key = path.at(-1)!;
    if (typeof parent !== 'object' || parent === null) continue;
    const marker = (parent as Record<string | number, unknown>)[key];
    if (typeof marker !== 'string' || !marker.startsWith(REDACTION_MARKER_PREFIX) || marker !== redactor.marker(value)) continue;
    setOwn(parent, key, value);
  }
  return copy;
}

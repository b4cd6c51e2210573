import { createHmac, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { serverSecrets } from '../db/schema.js';
import { parseRedactionPaths, type RedactionPath, type RedactionRoot } from '../policy/index.js';
import { canonicalJson } from './chain.js';

/**
 * Redaction of sensitive request values (a policy's `redact` paths). A value at such a path is
 * replaced by a marker `[redacted:hmac-sha256:<base64url>]`: the HMAC-SHA-256 of its RFC 8785
 * JSON under this deployment's redaction key. Equal values give equal markers (so a reused
 * secret shows), but the marker cannot be reversed or brute-forced without the key.
 *
 * The audit log stores the markers (so exports and the hash chain never hold the values) and keeps
 * the values beside it (`audit_redacted_values`, outside the chain) for ADMIN. Requests keep their
 * values and are masked when read by anyone but an ADMIN.
 */

/** The start of every marker; a string starting with it is a marker. */
export const REDACTION_MARKER_PREFIX = '[redacted:hmac-sha256:';

/** A place in a JSON value: object keys and list indices. */
export type JsonPath = (string | number)[];

/** A value taken out of an audit event's data, and where it was. */
export interface RedactedValue {
  path: JsonPath;
  value: unknown;
}

export interface Redactor {
  /** The marker that replaces `value`. */
  marker(value: unknown): string;
  /**
   * `value` (the request's `root`: its params or context) with every value at `paths` replaced by
   * its marker, and the values taken out, their paths prefixed with `at`. `value` is not changed.
   */
  redact<T>(value: T, root: RedactionRoot, paths: readonly RedactionPath[], at: JsonPath): { value: T; redacted: RedactedValue[] };
  /** `redact` for display: the masked value only. Stored path lists (strings) are accepted. */
  mask<T>(value: T, root: RedactionRoot, paths: readonly string[]): T;
}

const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] => typeof value === 'object' && value !== null;

/** Sets a property without going through setters (a key may be `__proto__`). */
export function setOwn(container: object, key: string | number, value: unknown) {
  Object.defineProperty(container, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Calls `visit` for every existing place under `node` that `segments` names. */
function visitMatches(
  node: unknown,
  segments: readonly string[],
  path: JsonPath,
  visit: (container: Record<string, unknown> | unknown[], key: string | number, path: JsonPath) => void,
) {
  if (!isContainer(node)) return;
  const [segment, ...rest] = segments;
  const keys: (string | number)[] = Array.isArray(node)
    ? segment === '*'
      ? node.map((_, i) => i)
      : /^\d+$/.test(segment!) && Number(segment) < node.length
        ? [Number(segment)]
        : []
    : segment === '*'
      ? Object.keys(node)
      : Object.hasOwn(node, segment!)
        ? [segment!]
        : [];
  for (const key of keys) {
    const child = (node as Record<string | number, unknown>)[key];
    if (rest.length === 0) visit(node, key, [...path, key]);
    else visitMatches(child, rest, [...path, key], visit);
  }
}

export function createRedactor(key: Buffer): Redactor {
  const marker = (value: unknown) =>
    `${REDACTION_MARKER_PREFIX}${createHmac('sha256', key)
      .update(canonicalJson(value ?? null))
      .digest('base64url')}]`;
  const redact: Redactor['redact'] = (value, root, paths, at) => {
    const own = paths.filter((path) => path.root === root);
    if (own.length === 0 || !isContainer(value)) return { value, redacted: [] };
    const copy = structuredClone(value);
    const redacted: RedactedValue[] = [];
    // Places already redacted, by path: two paths may name one place. Judged by place, never by
    // content, so a value an agent wrote to look like a marker is redacted like any other.
    const done = new Set<string>();
    // Shorter paths first: once an ancestor is a marker (a string), nothing below it matches,
    // so no taken-out value holds another's marker.
    for (const { segments } of [...own].sort((a, b) => a.segments.length - b.segments.length)) {
      visitMatches(copy, segments, at, (container, key, path) => {
        const place = JSON.stringify(path);
        if (done.has(place)) return;
        done.add(place);
        const found = (container as Record<string | number, unknown>)[key];
        redacted.push({ path, value: found });
        setOwn(container, key, marker(found));
      });
    }
    return { value: copy, redacted };
  };
  return {
    marker,
    redact,
    mask: (value, root, paths) => (paths.length === 0 ? value : redact(value, root, parseRedactionPaths(paths), []).value),
  };
}

/** Whether an event's data holds a marker (so an ADMIN view has values to put back). */
export function hasMarkers(data: unknown): boolean {
  return JSON.stringify(data).includes(REDACTION_MARKER_PREFIX);
}

const KEY_NAME = 'redaction-key';

/**
 * This deployment's redaction key: 32 random bytes made by the first instance that starts and
 * kept in the database (`server_secrets`), so every instance makes the same markers. It guards
 * nothing the database does not already hold in clear (requests keep their values), and keeps
 * exported markers from being brute-forced by whoever receives an export.
 */
export async function loadRedactionKey(db: Executor): Promise<Buffer> {
  await db
    .insert(serverSecrets)
    .values({ name: KEY_NAME, value: randomBytes(32).toString('base64url') })
    .onConflictDoNothing();
  const [row] = await db.select({ value: serverSecrets.value }).from(serverSecrets).where(eq(serverSecrets.name, KEY_NAME));
  return Buffer.from(row!.value, 'base64url');
}

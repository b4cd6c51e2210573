import { GraphQLError } from 'graphql';

/**
 * Opaque cursors: a kind prefix and a keyset position, base64url-encoded. The prefix stops a
 * cursor of one list from being used, by mistake, on another.
 */
export type CursorKind = 'request' | 'audit' | 'chain' | 'policy' | 'event' | 'principal' | 'delivery';

/** The cursor is not one this field returned. It is not echoed back: it is the caller's text. */
export function invalidCursor(): GraphQLError {
  return new GraphQLError('Invalid cursor: pass a cursor returned by this same field.', { extensions: { code: 'BAD_USER_INPUT' } });
}

export function encodeCursor(kind: CursorKind, position: number): string {
  return Buffer.from(`${kind}:${position}`).toString('base64url');
}

export function decodeCursor(kind: CursorKind, cursor: string | null | undefined): number | null {
  if (cursor === null || cursor === undefined) return null;
  const match = /^([a-z]+):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match || match[1] !== kind) {
    throw invalidCursor();
  }
  return Number(match[2]);
}

/** The kind of a well-formed cursor, or null: for fields that accept several kinds. */
export function cursorKind(cursor: string): string | null {
  return /^([a-z]+):\d{1,15}(?::\d{1,15})?$/.exec(Buffer.from(cursor, 'base64url').toString())?.[1] ?? null;
}

/** A place in the live order of events (`events/log.ts`): the cursor of streamed events. */
export function encodeEventCursor(position: { txId: number; id: number }): string {
  return Buffer.from(`event:${position.txId}:${position.id}`).toString('base64url');
}

export function decodeEventCursor(cursor: string): { txId: number; id: number } {
  const match = /^event:(\d{1,15}):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw invalidCursor();
  return { txId: Number(match[1]), id: Number(match[2]) };
}

/** A cursor over a composite key (e.g. name then id), as JSON after the kind. */
export function encodeKeyCursor(kind: CursorKind, key: readonly string[]): string {
  return Buffer.from(`${kind}:${JSON.stringify(key)}`).toString('base64url');
}

/** The key of a cursor made by `encodeKeyCursor` with `parts` strings; null for no cursor. */
export function decodeKeyCursor(kind: CursorKind, cursor: string | null | undefined, parts: number): string[] | null {
  if (cursor == null) return null;
  if (cursor.length > 2_000) throw invalidCursor();
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!text.startsWith(`${kind}:`)) throw invalidCursor();
  let key: unknown;
  try {
    key = JSON.parse(text.slice(kind.length + 1));
  } catch {
    throw invalidCursor();
  }
  // A part PostgreSQL could not take (NUL) is no cursor of ours either.
  if (!Array.isArray(key) || key.length !== parts || !key.every((part) => typeof part === 'string' && !part.includes('\u0000'))) {
    throw invalidCursor();
  }
  return key as string[];
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new GraphQLError(`"first" must be a whole number from 0 to ${MAX_PAGE_SIZE}.`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return first;
}

/** Builds a Relay connection from `limit + 1` rows: the extra row only says another page exists. */
export function toConnection<T>(rows: T[], limit: number, cursorOf: (row: T) => string, hasPreviousPage: boolean) {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

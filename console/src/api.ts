import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { createTransport, greenlightErrorOf, type Transport } from '../../src/client/transport.js';
import { GreenlightError } from '../../src/client/errors.js';
import { ConsoleViewerDocument, type ConsoleViewerQuery } from './generated/graphql.js';

export type Viewer = NonNullable<ConsoleViewerQuery['viewer']>;
export { GreenlightError };

/** The console talks to the server that serves it, with the signed-in token: the public GraphQL API only. */
export function connect(token: string): Transport {
  return createTransport({ url: window.location.origin, token, webSocketImpl: window.WebSocket });
}

/** Who the token belongs to; throws a GreenlightError UNAUTHENTICATED for a bad, revoked or expired token. */
export async function viewerOf(transport: Transport): Promise<Viewer> {
  const data = await transport.execute(ConsoleViewerDocument, {});
  if (!data.viewer) {
    throw new GreenlightError('it is unknown, revoked or expired, or its principal is disabled.', 'UNAUTHENTICATED');
  }
  return data.viewer;
}

/** graphql-ws close codes after which the session is checked again (the server closes a revoked token's sockets with 4403). */
const SESSION_CLOSE_CODES = new Set([4401, 4403]);

export interface FollowHandlers<R> {
  next(data: R): void;
  /** True when the socket dropped (the subscription will resume), false once it is back. */
  reconnecting(dropped: boolean): void;
  /** The server ended the stream. */
  completed(): void;
  /** The stream failed for good: a GraphQL error, or the server refused the session. */
  failed(error: GreenlightError, sessionRefused: boolean): void;
}

/**
 * Follows a subscription that takes an `after` cursor. graphql-ws re-sends the subscription's
 * payload each time it reopens a dropped socket; the payload's `after` is moved to each event's
 * cursor as it arrives, so the re-subscription resumes from the last event seen, with no gap and
 * nothing twice. Returns the function that stops following.
 */
export function follow<R, V extends { after?: string | null }>(
  transport: Transport,
  document: DocumentTypeDecoration<R, V>,
  variables: V,
  cursorOf: (data: R) => string | null | undefined,
  handlers: FollowHandlers<R>,
): () => void {
  const client = transport.socket();
  if (!client) throw new Error('The console needs WebSockets.');
  const payload = { query: document.toString(), variables: { ...variables } as Record<string, unknown> };
  let dropped = false;
  const offClosed = client.on('closed', (event) => {
    if (SESSION_CLOSE_CODES.has((event as { code?: number }).code ?? 0) || dropped) return;
    dropped = true;
    handlers.reconnecting(true);
  });
  const offConnected = client.on('connected', () => {
    if (!dropped) return;
    dropped = false;
    handlers.reconnecting(false);
  });
  const unsubscribe = client.subscribe<R>(payload, {
    next: (result) => {
      if (result.errors?.length) return handlers.failed(greenlightErrorOf(result.errors), false);
      if (!result.data) return;
      const cursor = cursorOf(result.data);
      if (cursor) payload.variables.after = cursor;
      handlers.next(result.data);
    },
    error: (error) => {
      const code = (error as { code?: number }).code ?? 0;
      if (SESSION_CLOSE_CODES.has(code))
        return handlers.failed(new GreenlightError('The server ended this session.', 'UNAUTHENTICATED'), true);
      const errors = Array.isArray(error) ? error : null;
      handlers.failed(
        errors ? greenlightErrorOf(errors) : new GreenlightError(String((error as Error)?.message ?? error), 'STREAM_FAILED'),
        false,
      );
    },
    complete: () => handlers.completed(),
  });
  return () => {
    offClosed();
    offConnected();
    unsubscribe();
  };
}

import { createClient, type Client } from 'graphql-ws';
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { GreenlightError } from './errors.js';

export interface TransportOptions {
  /** The server's base URL (`https://greenlight.example.com`) or its GraphQL endpoint (`…/graphql`). */
  url: string;
  token: string;
  fetch?: typeof fetch;
  /** A WebSocket constructor; `null` turns WebSockets off (waits poll over HTTP). Defaults to the global one. */
  webSocketImpl?: unknown;
}

interface GraphQLErrorShape {
  message: string;
  extensions?: Record<string, unknown>;
}

/** Turns a GraphQL error from the server into a `GreenlightError` with its code. */
export function greenlightErrorOf(errors: readonly GraphQLErrorShape[]): GreenlightError {
  const [first] = errors;
  const { code, ...details } = (first?.extensions ?? {}) as { code?: string } & Record<string, unknown>;
  return new GreenlightError(first?.message ?? 'The server reported an error.', code ?? 'GRAPHQL_ERROR', details);
}

/** One connection's worth of GraphQL: queries and mutations over HTTP, subscriptions over graphql-ws. */
export interface Transport {
  readonly baseUrl: string;
  /** Runs a typed document (any codegen `TypedDocumentString`: its text is its `toString()`). */
  execute<R, V>(document: DocumentTypeDecoration<R, V>, variables: V, signal?: AbortSignal): Promise<R>;
  /** The shared graphql-ws client, or null when WebSockets are off. */
  socket(): Client | null;
  /** Consecutive failed attempts to open a socket (0 once one is accepted). */
  socketFailures(): number;
  /** Calls `listener` whenever a socket attempt fails or succeeds; returns the unsubscribe function. */
  onSocketChange(listener: () => void): () => void;
  close(): Promise<void>;
}

const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5_000;
/** Pings on an idle socket, and how long a pong may take before the socket is taken for dead and reopened. */
const KEEP_ALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;
/** After this long without a new failure, sockets are tried again. */
const FAILURE_COOL_DOWN_MS = 30_000;

export function createTransport(options: TransportOptions): Transport {
  const trimmed = options.url.replace(/\/+$/, '');
  const graphqlUrl = trimmed.endsWith('/graphql') ? trimmed : `${trimmed}/graphql`;
  const baseUrl = graphqlUrl.slice(0, -'/graphql'.length);
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const webSocketImpl = options.webSocketImpl === undefined ? (globalThis as { WebSocket?: unknown }).WebSocket : options.webSocketImpl;
  let client: Client | null = null;
  let failures = 0;
  let lastFailureAt = 0;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  let activeSocket: { close(code: number, reason: string): void } | null = null;
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((listener) => listener());

  return {
    baseUrl,
    async execute(document, variables, signal) {
      const response = await fetchImpl(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${options.token}`,
        },
        body: JSON.stringify({ query: document.toString(), variables }),
        ...(signal ? { signal } : {}),
      });
      const body = (await response.json().catch(() => null)) as { data?: unknown; errors?: GraphQLErrorShape[] } | null;
      if (body?.errors?.length) throw greenlightErrorOf(body.errors);
      if (!response.ok || !body?.data) throw new GreenlightError(`Greenlight answered HTTP ${response.status}.`, `HTTP_${response.status}`);
      return body.data as never;
    },
    socket() {
      if (!webSocketImpl) return null;
      client ??= createClient({
        url: graphqlUrl.replace(/^http/, 'ws'),
        webSocketImpl,
        connectionParams: { authorization: `Bearer ${options.token}` },
        lazy: true,
        retryAttempts: Number.POSITIVE_INFINITY,
        // Jittered exponential backoff, capped: reconnects resume waits (the server answers at once when decided).
        retryWait: (retries) =>
          new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** retries) * (0.5 + Math.random() / 2))),
        // A revoked or unknown token does not come back by retrying.
        shouldRetry: (event) =>
          !(typeof event === 'object' && event !== null && [4401, 4403].includes((event as { code?: number }).code ?? 0)),
        keepAlive: KEEP_ALIVE_MS,
        on: {
          connected: (socket) => {
            activeSocket = socket as typeof activeSocket;
            failures = 0;
            changed();
          },
          // A ping without its pong in time: the socket is dead though not closed (4408 makes graphql-ws reconnect).
          ping: (received) => {
            if (!received) pongTimer = setTimeout(() => activeSocket?.close(4408, 'Pong timeout'), PONG_TIMEOUT_MS);
          },
          pong: (received) => {
            if (received) clearTimeout(pongTimer);
          },
          closed: () => {
            clearTimeout(pongTimer);
            activeSocket = null;
            failures += 1;
            lastFailureAt = Date.now();
            changed();
          },
          error: () => changed(),
        },
      });
      return client;
    },
    socketFailures: () => (Date.now() - lastFailureAt > FAILURE_COOL_DOWN_MS ? 0 : failures),
    onSocketChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await client?.dispose();
      client = null;
    },
  };
}

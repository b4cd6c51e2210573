import type { Server as HttpServer } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { authenticateToken } from '../auth/principals.js';
import type { Principal } from '../auth/roles.js';
import { parseBearer } from '../auth/tokens.js';
import type { Deps } from '../deps.js';
import { deliverDirectly } from './direct-delivery.js';
import { createKeepAlive } from './keep-alive.js';
import { sharedStreamOf } from './shared-subscriptions.js';
import type { GreenlightYoga } from './yoga.js';

type ConnectionExtra = {
  viewer?: Principal;
};

/** Limits of the WebSocket transport. */
export interface WebSocketOptions {
  /** Active subscriptions one socket may hold (default 100); one more gets an error, the socket stays. */
  maxSubscriptions?: number;
  /**
   * Every so often (default 12 s) the server pings each socket; one that has not answered the
   * previous ping is dropped, so dead peers do not hold subscriptions (and proxies see traffic).
   * Pings are spread over the interval (see `keep-alive.ts`), not sent to every socket at once.
   */
  keepAliveMs?: number;
}

/**
 * Close codes, beyond graphql-ws's own (4400 bad message, 4403 forbidden, 4408 no
 * `connection_init` within 3 s, 4409 duplicate subscription id, 4429 second `connection_init`).
 */
export const CloseCodes = {
  /** A subscriber fell too far behind (1 MiB unsent, or 1,000 events held; see SLOW_CONSUMER): reconnect and resume from the last cursor. */
  SlowConsumer: 4413,
} as const;

/** The Yoga-bound execute/subscribe travel to graphql-ws in `rootValue`, as Yoga's recipe does. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/** Accepts `"Bearer <token>"` (like the HTTP header) or the bare token. */
function tokenFrom(connectionParams: Readonly<Record<string, unknown>> | undefined): string | null {
  const value = connectionParams?.['authorization'] ?? connectionParams?.['Authorization'];
  if (typeof value !== 'string') return null;
  return parseBearer(value) ?? (/^\S+$/.test(value) ? value : null);
}

/**
 * graphql-ws on the HTTP server's `/graphql` path. The token in `connectionParams.authorization`
 * is checked once, in `connection_init`; a missing or bad token closes the socket with 4403.
 */
export function attachWebSocketServer(httpServer: HttpServer, yoga: GreenlightYoga, deps: Deps, options: WebSocketOptions = {}) {
  const maxSubscriptions = options.maxSubscriptions ?? 100;
  // No permessage-deflate: direct delivery writes frames beside ws's own (see direct-delivery.ts).
  const wsServer = new WebSocketServer({ server: httpServer, path: yoga.graphqlEndpoint, perMessageDeflate: false });
  // A socket authenticates once; when a principal's tokens are rotated (on any instance), its
  // sockets whose token no longer authenticates are closed with 4403.
  const byPrincipal = new Map<string, Set<{ token: string; socket: { close(code: number, reason: string): void } }>>();
  const stopWatchingTokens = deps.hub.listen((event) => {
    if (event.type !== 'TOKEN_ROTATED') return;
    for (const entry of byPrincipal.get(String(event.data['principalId'])) ?? []) {
      authenticateToken(deps.db, entry.token)
        .then((viewer) => viewer ?? entry.socket.close(4403, 'Forbidden: the token was revoked'))
        .catch((error) => console.error('[websocket] token check failed:', error));
    }
  });
  const keepAlive = createKeepAlive(options.keepAliveMs ?? 12_000);
  wsServer.on('connection', (socket) => keepAlive.add(socket));
  const disposable = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onConnect: async (ctx) => {
        const token = tokenFrom(ctx.connectionParams);
        const viewer = token ? await authenticateToken(deps.db, token) : null;
        // Returning false makes graphql-ws close the socket with 4403 Forbidden.
        if (!viewer) return false;
        ctx.extra.viewer = viewer;
        let sockets = byPrincipal.get(viewer.id);
        if (!sockets) byPrincipal.set(viewer.id, (sockets = new Set()));
        const entry = { token: token!, socket: ctx.extra.socket };
        sockets.add(entry);
        ctx.extra.socket.once('close', () => {
          sockets.delete(entry);
          if (sockets.size === 0 && byPrincipal.get(viewer.id) === sockets) byPrincipal.delete(viewer.id);
        });
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws has registered this one already.
        if (Object.keys(ctx.subscriptions).length > maxSubscriptions) {
          return [
            new GraphQLError(`This connection already holds ${maxSubscriptions} subscriptions; complete one first.`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
            }),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          viewer: ctx.extra.viewer,
        });
        let document: ExecutionArgs['document'];
        try {
          document = parse(payload.query);
        } catch (error) {
          // A syntax error (or a token limit hit while parsing) fails this operation only; thrown,
          // it would close the whole socket with 4500.
          return [error instanceof GraphQLError ? error : new GraphQLError('The operation could not be parsed.')];
        }
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName ?? null,
          document,
          variableValues: payload.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        const errors = validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
      // A shared subscription is written to the socket by `deliverDirectly`, not by graphql-ws's loop.
      onOperation: (ctx, id, _payload, args) => {
        const shared = sharedStreamOf(args.contextValue);
        return shared ? deliverDirectly(ctx.extra.socket, id, shared) : undefined;
      },
      onError: (ctx, _id, _payload, errors) => {
        // Its buffer is bounded: a consumer that cannot keep up is let go, to resume by cursor.
        if (errors.some((error) => error.extensions?.['code'] === 'SLOW_CONSUMER')) {
          ctx.extra.socket.close(CloseCodes.SlowConsumer, 'Slow consumer: resume from the last cursor received');
        }
      },
    },
    wsServer,
    // Keep-alive is `createKeepAlive` above (one timer for all sockets, not one per socket).
    0,
  );
  return {
    /** Closes every socket with 1001 (going away), so clients reconnect elsewhere, then stops. */
    close: () => {
      keepAlive.stop();
      stopWatchingTokens();
      return disposable.dispose();
    },
  };
}

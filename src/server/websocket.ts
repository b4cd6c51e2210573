import { logError } from '../observability/logger.js';
import { GraphQLError, Kind, type DocumentNode, type ExecutionArgs, type OperationDefinitionNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Session } from '../auth/authenticator.js';
import { parseBearer } from '../auth/tokens.js';
import type { Deps } from '../deps.js';
import { RateLimitedError, UnauthenticatedError } from '../errors.js';
import { clientAddress } from './client-address.js';
import { deliverDirectly } from './direct-delivery.js';
import type { LiveDelivery } from './live-delivery.js';
import { createKeepAlive } from './keep-alive.js';
import { FORBIDDEN, SocketSessions } from './socket-sessions.js';
import type { GreenlightYoga } from './yoga.js';

type ConnectionExtra = {
  session?: Session;
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
  /** Sockets one principal may hold open on this instance (MAX_SOCKETS_PER_PRINCIPAL, default 20). */
  maxSocketsPerPrincipal?: number;
  /** One reverse proxy is in front (TRUST_PROXY): see `clientAddress`. */
  trustProxy?: boolean;
}

/** Largest message any socket may send (one `subscribe` with its variables), as the HTTP body limit. */
export const MAX_MESSAGE_BYTES = 1_024 * 1_024; // 1 MiB
/** What a socket may send before its `connection_init` is accepted: an unauthenticated peer gets little. */
export const MAX_BYTES_BEFORE_INIT = 64 * 1_024; // 64 KiB

/**
 * Close codes, beyond graphql-ws's own (4400 bad message, 4403 forbidden, 4408 no
 * `connection_init` within 3 s, 4409 duplicate subscription id, 4429 second `connection_init`).
 */
export const CloseCodes = {
  /** The session no longer stands: token revoked or expired, principal disabled (graphql-ws's Forbidden). */
  Forbidden: FORBIDDEN,
  /** A subscriber fell too far behind (1 MiB unsent, or 1,000 events held; see SLOW_CONSUMER): reconnect and resume from the last cursor. */
  SlowConsumer: 4413,
  /** Over a quota: MAX_SOCKETS_PER_PRINCIPAL open sockets, or too many failed authentications from the address. Retry later. */
  OverQuota: 4430,
  /** More than 64 KiB before `connection_init` was accepted, or a message over 1 MiB (WebSocket's Message Too Big). */
  TooBig: 1009,
  /**
   * This instance lost its database (reads of the event log failed for 3 s): its streams would go
   * stale. WebSocket's Try Again Later: reconnect (here or elsewhere) and resume from the last cursor.
   */
  DatabaseUnavailable: 1013,
} as const;

/** The Yoga-bound execute/subscribe travel to graphql-ws in `rootValue`, as Yoga's recipe does. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/** Whether the operation a document runs is a mutation. */
function isMutation(document: DocumentNode, operationName: string | null | undefined): boolean {
  return document.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.operation === 'mutation' &&
      (!operationName || definition.name?.value === operationName),
  );
}

/** Accepts `"Bearer <token>"` (like the HTTP header) or the bare token. */
function tokenFrom(connectionParams: Readonly<Record<string, unknown>> | undefined): string | null {
  const value = connectionParams?.['authorization'] ?? connectionParams?.['Authorization'];
  if (typeof value !== 'string') return null;
  return parseBearer(value) ?? (/^\S+$/.test(value) ? value : null);
}

/**
 * Counts what a socket sends until `connection_init` is accepted: past MAX_BYTES_BEFORE_INIT it is
 * closed (1009), so an unauthenticated peer cannot make the server parse large messages. Returns
 * the function that stops counting.
 */
function limitBeforeInit(socket: WebSocket, raw: Socket): () => void {
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_BYTES_BEFORE_INIT) {
      stop();
      socket.close(CloseCodes.TooBig, 'Too much data before connection_init was accepted');
      raw.destroySoon();
    }
  };
  const stop = () => raw.off('data', count);
  raw.on('data', count);
  return stop;
}

/** The schema's subscription root fields: the only labels `greenlight_subscriptions` takes. */
export const SUBSCRIPTION_KINDS = new Set(['pendingApprovals', 'actionDecided', 'auditEvents']);

/** The root field a subscription operation subscribes to, or null for a query or mutation. */
function subscriptionKind(document: ExecutionArgs['document'], operationName: string | null | undefined): string | null {
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION && (!operationName || definition.name?.value === operationName),
  );
  if (operation?.operation !== 'subscription') return null;
  const [first] = operation.selectionSet.selections;
  return first?.kind === Kind.FIELD ? first.name.value : null;
}

/**
 * graphql-ws on the HTTP server's `/graphql` path. The token in `connectionParams.authorization`
 * is checked in `connection_init` (a missing or bad token closes the socket with 4403), then again
 * on every operation and whenever the principal or its tokens change (see SocketSessions).
 */
export function attachWebSocketServer(
  httpServer: HttpServer,
  yoga: GreenlightYoga,
  deps: Deps,
  live: Pick<LiveDelivery, 'subscriptions' | 'frames'>,
  options: WebSocketOptions = {},
) {
  const maxSubscriptions = options.maxSubscriptions ?? 100;
  // No permessage-deflate: direct delivery writes frames beside ws's own (see direct-delivery.ts).
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: yoga.graphqlEndpoint,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
  });
  const sessions = new SocketSessions(deps.auth, options.maxSocketsPerPrincipal ?? 20, deps.log);
  // Bytes each socket sent before it was let in; forgotten once it is.
  const beforeInit = new WeakMap<WebSocket, () => void>();
  const keepAlive = createKeepAlive(options.keepAliveMs ?? 12_000);
  // Streams cannot be kept live without the log: subscribers are told, not left with a stale queue.
  const stopWatchingDatabase = deps.hub.onLost(() => {
    for (const socket of wsServer.clients)
      socket.close(CloseCodes.DatabaseUnavailable, 'The database is unreachable: reconnect and resume from your last cursor');
  });
  // What /metrics reports: open connections, and open subscriptions by root field.
  const admitted = new Set<{ subscriptions: Record<string, unknown> }>();
  const kinds = new WeakMap<object, Map<string, string>>();
  deps.metrics.watchSockets(() => {
    const subscriptions: Record<string, number> = {};
    for (const ctx of admitted) {
      const ofContext = kinds.get(ctx);
      for (const id of Object.keys(ctx.subscriptions)) {
        const kind = ofContext?.get(id);
        if (kind) subscriptions[kind] = (subscriptions[kind] ?? 0) + 1;
      }
    }
    return { connections: wsServer.clients.size, subscriptions };
  });
  wsServer.on('connection', (socket, request) => {
    keepAlive.add(socket);
    beforeInit.set(socket, limitBeforeInit(socket, request.socket));
  });
  // graphql-ws prints what these callbacks throw, whole, with console.error, and (outside
  // production) puts its message in the close reason: a failed statement would show its bind
  // parameters. Unexpected errors are logged here, made loggable, and a bare one goes on.
  const guarded =
    <A extends unknown[], R>(what: string, callback: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await callback(...args);
      } catch (error) {
        logError(deps.log, 'websocket', error, what);
        throw new Error('Internal server error');
      }
    };
  const disposable = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onConnect: guarded('connection check failed', async (ctx) => {
        const socket = ctx.extra.socket;
        const secret = tokenFrom(ctx.connectionParams);
        let session: Session;
        try {
          if (!secret) throw new UnauthenticatedError('MISSING');
          session = await deps.auth.authenticate(secret, clientAddress(ctx.extra.request, options.trustProxy ?? false));
        } catch (error) {
          if (error instanceof RateLimitedError) socket.close(CloseCodes.OverQuota, error.message.slice(0, 120));
          else if (!(error instanceof UnauthenticatedError)) throw error;
          // Returning false makes graphql-ws close the socket with 4403 Forbidden.
          return false;
        }
        // The peer may have gone while its token was being checked: nothing to admit.
        if (socket.readyState !== socket.OPEN) return false;
        if (!sessions.admit(session, socket)) {
          socket.close(CloseCodes.OverQuota, `Too many connections: at most ${options.maxSocketsPerPrincipal ?? 20} per principal`);
          return false;
        }
        beforeInit.get(socket)?.();
        ctx.extra.session = session;
        admitted.add(ctx);
        socket.once('close', () => admitted.delete(ctx));
        return true;
      }),
      onSubscribe: guarded('subscribe failed', async (ctx, id, payload) => {
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
          session: ctx.extra.session,
        });
        let document: ExecutionArgs['document'];
        try {
          document = parse(payload.query);
        } catch (error) {
          // A syntax error (or a token limit hit while parsing) fails this operation only; thrown,
          // it would close the whole socket with 4500.
          return [error instanceof GraphQLError ? error : new GraphQLError('The operation could not be parsed.')];
        }
        const kind = subscriptionKind(document, payload.operationName);
        if (kind && SUBSCRIPTION_KINDS.has(kind)) {
          let ofContext = kinds.get(ctx);
          if (!ofContext) kinds.set(ctx, (ofContext = new Map()));
          ofContext.set(id, kind);
        }
        // The token may have been revoked, or the principal disabled, since the socket opened. A
        // mutation reads its token afresh: it changes state, so another instance's revocation must
        // stop it even before the revocation's event reaches this one.
        try {
          await deps.auth.verify(ctx.extra.session!, { fresh: isMutation(document, payload.operationName) });
        } catch (error) {
          if (!(error instanceof UnauthenticatedError)) throw error;
          ctx.extra.socket.close(CloseCodes.Forbidden, `Forbidden: ${error.message}`.slice(0, 120));
          return [new GraphQLError(error.message, { extensions: { code: error.code } })];
        }
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName ?? null,
          document,
          variableValues: payload.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        // Validation plugins (depth, aliases, cost) may throw instead of returning their errors:
        // either way they fail this operation only; thrown, they would close the socket with 4500.
        let errors: readonly GraphQLError[];
        try {
          errors = validate(args.schema, args.document);
        } catch (error) {
          if (!(error instanceof GraphQLError)) throw error;
          errors = [error];
        }
        return errors.length > 0 ? [...errors] : args;
      }),
      // A shared subscription is written to the socket by `deliverDirectly`, not by graphql-ws's loop.
      onComplete: (ctx, id) => {
        kinds.get(ctx)?.delete(id);
      },
      onOperation: (ctx, id, _payload, args) => {
        const shared = live.subscriptions.streamOf(args.contextValue);
        return shared ? deliverDirectly(live.frames, ctx.extra.socket, id, shared) : undefined;
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
      sessions.stop();
      stopWatchingDatabase();
      return disposable.dispose();
    },
  };
}

import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError } from 'graphql';
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import type { IncomingMessage } from 'node:http';
import type { Session } from '../auth/authenticator.js';
import { parseBearer } from '../auth/tokens.js';
import type { SecurityConfig } from '../config.js';
import type { Deps } from '../deps.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { DomainError, RateLimitedError, UnauthenticatedError, UnavailableError } from '../errors.js';
import { createContext, type GraphQLContext } from '../graphql/context.js';
import { buildSchema } from '../graphql/schema.js';
import { yogaLogger, type Logger, type LogLevel } from '../observability/logger.js';
import type { RequestLog } from './request-log.js';
import { clientAddress } from './client-address.js';
import { useHttpLimits } from './http-limits.js';
import { useOperationMetrics } from './operation-metrics.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';

/** What the transports put into Yoga's initial context; WebSocket connections authenticate once. */
export interface ServerContext {
  /** Set by the WebSocket transport after `connection_init`; absent for HTTP requests. */
  session?: Session;
  /** The Node request, for HTTP (Yoga's Node adapter passes it): its socket gives the remote address. */
  req?: IncomingMessage;
}

export type GreenlightYoga = YogaServerInstance<ServerContext, GraphQLContext>;

export interface YogaOptions {
  /** The app's log level (default info) when no `logger` is given; unexpected (masked) errors are logged at `error`, without bind parameters. */
  logging?: LogLevel | false;
  /** The app's logger (default: one on standard output, JSON, human-readable on a terminal). */
  logger?: Logger;
  /** CORS origins, GraphiQL and introspection (see SecurityConfig); default: none, on, on. */
  http?: Partial<Pick<SecurityConfig, 'corsOrigins' | 'graphiql' | 'introspection' | 'trustProxy'>>;
  /** Notes each operation's name and caller on its HTTP request's log line. */
  requestLog?: RequestLog;
}

const UNEXPECTED = 'Unexpected error.';

function exposeDomainErrors(error: unknown, message: string, isDev?: boolean): Error {
  // The GraphQL error wrapping a domain error already carries its message and `extensions.code`
  // (see DomainError.extensions); returned as is, Yoga neither masks nor logs it.
  if (error instanceof GraphQLError && error.originalError instanceof DomainError) return error;
  // A domain error thrown by a subscription's stream reaches here unwrapped.
  if (error instanceof DomainError) return new GraphQLError(error.message, { originalError: error, extensions: error.extensions });
  // The database out of reach is no bug: the caller is told to retry, in a code it can act on.
  if (isDatabaseUnavailable(error)) {
    const unavailable = new UnavailableError();
    return new GraphQLError(unavailable.message, { originalError: unavailable, extensions: unavailable.extensions });
  }
  return maskError(error, message, isDev);
}

/**
 * The GraphQL engine shared by both transports, so HTTP and WebSocket run one context/auth path.
 * `subscriptions` executes its subscriptions' payloads (shared, see `shared-subscriptions.ts`).
 */
export function createGreenlightYoga(deps: Deps, subscriptions: SharedSubscriptions, options: YogaOptions = {}): GreenlightYoga {
  const http = { corsOrigins: [], graphiql: true, introspection: true, trustProxy: false, ...options.http };
  // Shared subscription results are masked as Yoga masks everything else (and logged the same way).
  const mask = (error: unknown): GraphQLError => {
    const masked = exposeDomainErrors(error, UNEXPECTED, false);
    if (masked !== error) yoga.logger.error(error);
    return masked instanceof GraphQLError ? masked : new GraphQLError(UNEXPECTED);
  };
  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    // The health endpoint is served by the HTTP layer, which knows about readiness and shutdown.
    healthCheckEndpoint: '/yoga-health',
    landingPage: false,
    // GraphiQL from the installed package (no script from a CDN), or none.
    graphiql: http.graphiql,
    // Loaded on the first visit to the page: its bundle is large and most servers never show it.
    renderGraphiQL: http.graphiql ? async (opts) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(opts) : undefined,
    // Browsers on other origins are refused unless listed; no credentials: tokens travel in a header.
    cors: http.corsOrigins.length > 0 ? { origin: http.corsOrigins, credentials: false, methods: ['GET', 'POST'] } : false,
    // Unexpected errors reach clients as "Unexpected error." and are logged in full here. Expected
    // domain errors that escape outside a mutation payload (e.g. from a subscription stream) keep
    // their message, with their code in `extensions.code`.
    maskedErrors: { maskError: exposeDomainErrors, errorMessage: UNEXPECTED },
    logging: yogaLogger(deps.log),
    // useHttpLimits bounds every POST body (MAX_BODY_BYTES, counted as it arrives); Yoga's own
    // limit would pipe each body through a second stream for a larger bound.
    maxRequestBodySize: false,
    // Depth, alias, directive, token and cost limits, enforced at validation on HTTP and WebSocket
    // alike. Depth 10 leaves room for the documented operations (the deepest uses 6 levels).
    plugins: [
      useHttpLimits(),
      ...(http.introspection ? [] : [useDisableIntrospection()]),
      EnvelopArmorPlugin({ maxDepth: { n: 10 }, maxAliases: { n: 15 } }),
      subscriptions.plugin(mask),
      useOperationMetrics(deps.metrics),
      ...(options.requestLog ? [options.requestLog.plugin()] : []),
    ],
    context: async (initial) => {
      if (initial.session) return createContext(deps, initial.session);
      const header = initial.request.headers.get('authorization');
      if (header === null) return createContext(deps, null);
      const secret = parseBearer(header);
      if (secret === null) return createContext(deps, null, 'UNKNOWN');
      try {
        return createContext(deps, await deps.auth.authenticate(secret, clientAddress(initial.req, http.trustProxy)));
      } catch (error) {
        if (error instanceof UnauthenticatedError) return createContext(deps, null, error.reason);
        if (error instanceof RateLimitedError) {
          throw new GraphQLError(error.message, {
            extensions: { ...error.extensions, http: { status: 429, headers: { 'retry-after': String(error.retryAfter) } } },
          });
        }
        throw error;
      }
    },
  }) as GreenlightYoga;
  return yoga;
}

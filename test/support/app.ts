import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { WebSocketOptions } from '../../src/server/websocket.js';
import { buildApp, type App } from '../../src/app.js';
import type { Logger } from '../../src/observability/logger.js';
import { generateSigningKeyPem } from '../../src/audit/keys.js';
import {
  defaultAuditConfig,
  defaultReceiptConfig,
  defaultSecurityConfig,
  defaultWebhookConfig,
  type AuditConfig,
  type DatabasePoolConfig,
  type ReceiptConfig,
  type SecurityConfig,
  type WebhookConfig,
} from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A running Greenlight on a free loopback port, with helpers that speak real HTTP and WebSocket. */
export interface TestServer {
  app: App;
  url: string;
  wsUrl: string;
  /** POSTs a GraphQL operation over real HTTP. */
  gql<T = any>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Opens a graphql-ws client authenticated with `token`; closed by `stop()`. */
  ws(token: string | null, options?: { onClose?: (code: number) => void }): Client;
  stop(): Promise<void>;
  /** The database it runs on (to start more instances on it). */
  database: TestDatabase;
}

export interface TestServerOptions {
  sweepIntervalMs?: number;
  /** Webhook settings over the defaults. */
  webhooks?: Partial<WebhookConfig>;
  /** The bearer token /metrics asks for (open when unset). */
  metricsToken?: string;
  audit?: Partial<AuditConfig>;
  /** Another instance's database (on PostgreSQL): this server joins it and leaves it in place when it stops. */
  database?: TestDatabase;
  websocket?: WebSocketOptions;
  security?: Partial<SecurityConfig>;
  receipts?: Partial<ReceiptConfig>;
  /** The app's logger (default: errors only, on standard output). */
  logger?: Logger;
  /** The PostgreSQL pool (default: 10 connections, 5 s to get one). */
  databasePool?: Partial<DatabasePoolConfig>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownsDatabase = !options.database;
  const database: TestDatabase = options.database ?? (await createTestDatabase());
  const app = await buildApp(
    {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.databaseUrl,
      dataDir: database.dataDir,
      adminToken: ADMIN_TOKEN,
      sweepIntervalMs: options.sweepIntervalMs ?? 1_000,
      // A quick sealer: tests wait for sealing before reading the chain.
      audit: defaultAuditConfig({ signingKey: generateSigningKeyPem(), sealIntervalMs: 20, ...options.audit }),
      receipts: defaultReceiptConfig({ signingKey: generateSigningKeyPem(), ...options.receipts }),
      // Every test client comes from 127.0.0.1: tests of bad tokens must not lock each other out.
      security: defaultSecurityConfig({ authFailuresPerMinute: 0, ...options.security }),
      // Webhook tests set their own (loopback receivers, short intervals).
      webhooks: defaultWebhookConfig(options.webhooks),
      metricsToken: options.metricsToken,
      databaseWaitMs: 0,
      databasePool: options.databasePool,
    },
    { logging: 'error', logger: options.logger, websocket: options.websocket },
  );
  const url = await app.start();
  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  const clients: Client[] = [];
  return {
    app,
    url,
    wsUrl,
    async gql(token, query, variables) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse;
    },
    ws(token, options = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        lazy: false,
        // Errors surface through the subscriptions and `onClose`; nothing to log here.
        onNonLazyError: () => {},
        on: { closed: (event) => options.onClose?.((event as { code: number }).code) },
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await app.stop();
      if (ownsDatabase) await database.drop();
    },
    database,
  };
}

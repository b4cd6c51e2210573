import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Deps } from '../deps.js';
import { logError } from '../observability/logger.js';
import type { RequestLog } from './request-log.js';
import { createMcpRoute, MCP_PATH } from '../mcp/http.js';
import { AUTHZEN_EVALUATION_PATH, handleAuthzenEvaluation } from './authzen.js';
import { CONSOLE_PATH, serveConsole } from './console.js';
import { AUDIT_EXPORT_PATH, handleAuditExport } from './export.js';
import { handleMetrics, METRICS_PATH } from './metrics-route.js';
import type { Readiness } from './health.js';
import type { LiveDelivery } from './live-delivery.js';
import { attachWebSocketServer, type WebSocketOptions } from './websocket.js';
import type { GreenlightYoga } from './yoga.js';

/** Where the public key that signs audit checkpoints is served, as a JWK (RFC 8037, Ed25519). */
export const AUDIT_KEY_PATH = '/.well-known/greenlight-audit-key.json';

/** Where the public keys that sign approval receipts are served, as a JWK Set (RFC 7517). */
export const JWKS_PATH = '/.well-known/jwks.json';

const SHUTDOWN_GRACE_MS = 10_000; // 10 seconds for in-flight requests before connections are cut

export interface HttpServer {
  /** Listens on `host:port` (port 0 picks a free one) and resolves with the base URL. */
  listen(port: number, host: string): Promise<string>;
  /**
   * Stops accepting work, closes WebSockets (1001), lets in-flight HTTP requests finish (so their
   * transactions commit and are answered), then resolves.
   */
  close(): Promise<void>;
}

/**
 * Yoga on `node:http` with graphql-ws on the same port and path, plus the health endpoints
 * (`/health/live`; `/health/ready`, and `/health` as its alias), `/metrics`, the audit key, the receipts' JWK Set
 * the MCP server (`/mcp`), the AuthZEN evaluation endpoint and the reviewer console (`/console`).
 */
export function createHttpServer(
  yoga: GreenlightYoga,
  deps: Deps,
  live: Pick<LiveDelivery, 'subscriptions' | 'frames'>,
  readiness: () => Promise<Readiness>,
  websocket: WebSocketOptions & { metricsToken?: string | undefined; requestLog?: RequestLog } = {},
): HttpServer {
  let stopping = false;
  const mcp = createMcpRoute(deps, async (url, init) => yoga.fetch(url, init), {
    trustProxy: websocket.trustProxy ?? false,
    maxInFlightPerPrincipal: websocket.maxSocketsPerPrincipal ?? 20,
  });
  const server: Server = createServer((req, res) => {
    websocket.requestLog?.begin(req, res);
    const reading = req.method === 'GET' || req.method === 'HEAD';
    const path = req.url?.split('?')[0];
    if (path === '/health/live' && reading) {
      // The process answers: nothing more is claimed.
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: 'live' }));
      return;
    }
    if ((path === '/health/ready' || path === '/health') && reading) {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
      };
      if (stopping) return answer(503, { status: 'stopping' });
      readiness().then(
        (result) => answer(result.ready ? 200 : 503, { status: result.ready ? 'ok' : 'unavailable', ...result.checks }),
        (error: unknown) => {
          logError(deps.log, 'health', error);
          answer(503, { status: 'unavailable' });
        },
      );
      return;
    }
    if (path === AUDIT_KEY_PATH && reading) {
      // Public by design: anyone holding an export can check its checkpoints with this key.
      res.writeHead(200, { 'content-type': 'application/jwk+json', 'cache-control': 'public, max-age=300' });
      res.end(JSON.stringify(deps.auditKeys.publicJwk));
      return;
    }
    if (path === JWKS_PATH && reading) {
      // Public by design: executing systems verify receipts offline with these keys.
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' });
      res.end(JSON.stringify(deps.receipts.jwks));
      return;
    }
    if ((path === CONSOLE_PATH || path?.startsWith(`${CONSOLE_PATH}/`)) && reading) return serveConsole(req, res);
    const trustProxy = websocket.trustProxy ?? false;
    // A route that fails unexpectedly answers 500 (or is cut, once its answer has begun); the log says which.
    const serve = (area: string, handling: Promise<void>) =>
      void handling.catch((error: unknown) => {
        logError(deps.log, area, error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"Unexpected error."}');
        else res.destroy();
      });
    if (path === METRICS_PATH && reading) return serve('metrics', handleMetrics(deps.metrics, websocket.metricsToken, req, res));
    if (path === AUDIT_EXPORT_PATH && reading) return serve('export', handleAuditExport(deps, req, res, trustProxy));
    if (path === AUTHZEN_EVALUATION_PATH) return serve('authzen', handleAuthzenEvaluation(deps, req, res, trustProxy));
    if (path === MCP_PATH) return serve('mcp', mcp(req, res));
    void yoga(req, res);
  });
  const websockets = attachWebSocketServer(server, yoga, deps, live, websocket);

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const { address, port: actual } = server.address() as AddressInfo;
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${actual}`);
        });
      }),
    async close() {
      stopping = true;
      await websockets.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cutOff = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      try {
        await closed;
      } finally {
        clearTimeout(cutOff);
      }
    },
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Deps } from '../deps.js';
import { authenticateRequest, BodyError, readJsonBody, refuseBody } from '../server/bearer.js';
import { PACKAGE_VERSION } from './version.js';

/**
 * The MCP SDK, the tools and the client they call, loaded on the first `/mcp` request: a server
 * nobody asks over MCP does not pay for them at start-up (the module system keeps them after).
 */
const loadRuntime = async () => {
  const [{ StreamableHTTPServerTransport }, { createMcpServer }, { createGreenlightClient }] = await Promise.all([
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    import('./tools.js'),
    import('../client/client.js'),
  ]);
  return { StreamableHTTPServerTransport, createMcpServer, createGreenlightClient };
};

export const MCP_PATH = '/mcp';

/** Where the in-process SDK client thinks it talks to; its requests never leave the process. */
const IN_PROCESS_URL = 'http://greenlight.internal';

/** How often an in-process `wait_for_decision` looks again (it polls: there is no socket to hold). */
const IN_PROCESS_POLL_MS = 1_000;

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

export interface McpRouteOptions {
  trustProxy: boolean;
  /** `/mcp` requests one principal may have in flight on this instance (as many as its WebSockets). */
  maxInFlightPerPrincipal: number;
}

/**
 * The MCP server over Streamable HTTP at `/mcp`, stateless: each POST is authenticated with its
 * bearer token (as GraphQL is) and served by a fresh MCP server whose tools call the GraphQL API
 * in process (`graphql(url, init)`), with that same token. One JSON-RPC message per POST (no
 * batches), and a bounded number in flight per principal: a `wait_for_decision` holds its
 * request open for up to 55 s. GET and DELETE (server-initiated streams, sessions): 405.
 */
export function createMcpRoute(
  deps: Deps,
  graphql: (url: string, init: RequestInit) => Promise<Response>,
  options: McpRouteOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const inFlight = new Map<string, number>();
  return async (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages to /mcp.' },
          id: null,
        }),
      );
      return;
    }
    const session = await authenticateRequest(deps, req, res, options.trustProxy);
    if (!session) return;
    let body: unknown;
    try {
      body = await readJsonBody(req);
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      if (error.status === 400) return jsonRpcError(res, 400, -32700, error.message);
      return refuseBody(res, error);
    }
    if (Array.isArray(body)) return jsonRpcError(res, 400, -32600, 'Send one JSON-RPC message per request: batches are not accepted.');
    const principalId = session.principal.id;
    const running = inFlight.get(principalId) ?? 0;
    if (running >= options.maxInFlightPerPrincipal) {
      res.setHeader('retry-after', '1');
      return jsonRpcError(res, 429, -32000, `At most ${options.maxInFlightPerPrincipal} MCP requests in flight per principal.`);
    }
    inFlight.set(principalId, running + 1);
    const release = () => {
      const left = (inFlight.get(principalId) ?? 1) - 1;
      if (left > 0) inFlight.set(principalId, left);
      else inFlight.delete(principalId);
    };

    const { StreamableHTTPServerTransport, createMcpServer, createGreenlightClient } = await loadRuntime().catch((error: unknown) => {
      release();
      throw error;
    });
    const token = req.headers.authorization!.replace(/^\s*bearer\s+/i, '').trim();
    const client = createGreenlightClient({
      url: IN_PROCESS_URL,
      token,
      mode: 'interrupt',
      webSocketImpl: null,
      pollIntervalMs: IN_PROCESS_POLL_MS,
      fetch: ((input: string | URL | Request, init?: RequestInit) => graphql(String(input), init ?? {})) as typeof fetch,
    });
    const server = createMcpServer(client, PACKAGE_VERSION);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      release();
      void transport.close();
      void server.close();
      void client.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
}

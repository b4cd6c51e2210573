import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createGreenlightClient } from '../client/client.js';
import type { Deps } from '../deps.js';
import { authenticateRequest, BodyError, readJsonBody, refuse } from '../server/bearer.js';
import { createMcpServer } from './tools.js';
import { PACKAGE_VERSION } from './version.js';

export const MCP_PATH = '/mcp';

/** Where the in-process SDK client thinks it talks to; its requests never leave the process. */
const IN_PROCESS_URL = 'http://greenlight.internal';

/** How often an in-process `wait_for_decision` looks again (it polls: there is no socket to hold). */
const IN_PROCESS_POLL_MS = 500;

function jsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/**
 * The MCP server over Streamable HTTP at `/mcp`, stateless: each POST is authenticated with its
 * bearer token (as GraphQL is) and served by a fresh MCP server whose tools call the GraphQL API
 * in process (`graphql(url, init)`), with that same token. GET and DELETE (server-initiated
 * streams, sessions) are not offered: 405.
 */
export async function handleMcp(
  deps: Deps,
  graphql: (url: string, init: RequestInit) => Promise<Response>,
  req: IncomingMessage,
  res: ServerResponse,
  trustProxy: boolean,
): Promise<void> {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: POST JSON-RPC messages to /mcp.' }, id: null }),
    );
    return;
  }
  const session = await authenticateRequest(deps, req, res, trustProxy);
  if (!session) return;
  let body: unknown;
  try {
    body = await readJsonBody(req);
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    if (error.status === 400) return jsonRpcError(res, 400, -32700, error.message);
    return refuse(res, error.status, error.message);
  }

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
    void transport.close();
    void server.close();
    void client.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

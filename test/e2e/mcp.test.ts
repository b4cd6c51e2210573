import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, decideAction, publishPolicy, type Actor } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let server: TestServer;
let agent: Actor;
let reviewer: Actor;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'mcp-agent', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(server, [
    { id: 'no-deletes', effect: 'BLOCK', actions: ['*.delete'], resources: ['**'], reason: 'Deletes are never automatic.' },
    { id: 'review-prod', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['prod/**'], review: { groups: ['sre'] } },
  ]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await server?.stop();
});

const httpTransport = (token: string) =>
  new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });

const stdioTransport = (token: string) =>
  new StdioClientTransport({
    command: 'npm',
    args: ['run', 'mcp'],
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: token },
    stderr: 'pipe',
  });

async function connect(transport: Transport): Promise<Client> {
  const client = new Client({ name: 'greenlight-test', version: '1.0.0' });
  clients.push(client);
  await client.connect(transport);
  return client;
}

type Structured = {
  status: string;
  requestId: string;
  reason: string | null;
  modelMessage: string;
  receipt: string | null;
  retryAfterMs?: number;
};

async function call(client: Client, name: string, args: Record<string, unknown>) {
  const result = await client.callTool({ name, arguments: args });
  return { isError: result.isError ?? false, structured: result.structuredContent as Structured, content: result.content };
}

describe.each([
  ['Streamable HTTP', httpTransport],
  ['stdio (npm run mcp)', stdioTransport],
])('the MCP server over %s', (_name, transport) => {
  let client: Client;
  beforeAll(async () => {
    client = await connect(transport(agent.token));
  });

  it('lists its tools with input and output schemas and honest annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'cancel_action_request',
      'get_action_request',
      'report_action_outcome',
      'request_action',
      'wait_for_decision',
    ]);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.annotations?.destructiveHint).toBe(false);
    }
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    expect(byName['wait_for_decision']!.annotations?.readOnlyHint).toBe(true);
    expect(byName['get_action_request']!.annotations?.readOnlyHint).toBe(true);
    expect(byName['request_action']!.annotations?.readOnlyHint).toBe(false);
    expect(byName['request_action']!.inputSchema.required).toEqual(['action', 'resource']);
  });

  it('request → PENDING → a reviewer approves → wait_for_decision returns APPROVED with a receipt', async () => {
    const requested = await call(client, 'request_action', { action: 'deploy.update', resource: 'prod/api', params: { v: 1 } });
    expect(requested.isError).toBe(false);
    expect(requested.structured).toMatchObject({ status: 'PENDING', receipt: null });
    const { requestId } = requested.structured;

    const early = await call(client, 'wait_for_decision', { requestId, timeoutSeconds: 1 });
    expect(early.structured).toMatchObject({ status: 'PENDING', requestId, retryAfterMs: expect.any(Number) });

    const waiting = call(client, 'wait_for_decision', { requestId });
    await decideAction(server, reviewer.token, { requestId, verdict: 'APPROVE', comment: 'ship it' });
    const decided = await waiting;
    expect(decided.isError).toBe(false);
    expect(decided.structured).toMatchObject({ status: 'APPROVED', requestId, reason: 'ship it', approvedParams: { v: 1 } });
    expect(decided.structured.receipt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(decided.structured.modelMessage).toContain('Approved by reviewer Ada');

    const reported = await client.callTool({ name: 'report_action_outcome', arguments: { requestId, outcome: 'SUCCEEDED' } });
    expect(reported.structuredContent).toEqual({ requestId, outcome: 'SUCCEEDED', recorded: true });
    expect((await call(client, 'get_action_request', { requestId })).structured.status).toBe('APPROVED');
  });

  it('returns a block as a normal result, with the reason and a line for the model', async () => {
    const blocked = await call(client, 'request_action', { action: 'db.delete', resource: 'prod/db' });
    expect(blocked.isError).toBe(false);
    expect(blocked.structured).toMatchObject({ status: 'BLOCKED', reason: 'Deletes are never automatic.' });
    expect(blocked.structured.modelMessage).toContain('Blocked by the policy');
  });

  it('cancels a pending request, and reports a failed call (not a decision) as isError', async () => {
    const requested = await call(client, 'request_action', { action: 'deploy.update', resource: 'prod/web' });
    const cancelled = await call(client, 'cancel_action_request', { requestId: requested.structured.requestId, reason: 'not needed' });
    expect(cancelled.structured).toMatchObject({ status: 'CANCELLED', reason: 'not needed' });
    const invalid = await call(client, 'request_action', { action: 'not an action!', resource: 'x' });
    expect(invalid.isError).toBe(true);
    expect(JSON.stringify(invalid.content)).toContain('InvalidInputError');
  });
});

describe('the MCP server refuses a bad token', () => {
  it('over Streamable HTTP: 401 before any tool runs', async () => {
    await expect(connect(httpTransport('not-a-valid-token-at-all'))).rejects.toThrow(/401|Unauthorized|not valid|unknown/i);
  });

  it('over stdio: the process stops at start with a message naming GREENLIGHT_TOKEN', async () => {
    const stdio = stdioTransport('not-a-valid-token-at-all');
    let stderr = '';
    stdio.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<void>((resolve) => {
      stdio.onclose = () => resolve();
    });
    await expect(connect(stdio)).rejects.toThrow();
    await closed;
    expect(stderr).toContain('GREENLIGHT_TOKEN');
  });
});

describe('the /mcp route bounds what one caller may ask', () => {
  let limited: TestServer;
  let agentToken: string;
  beforeAll(async () => {
    limited = await startTestServer({ security: { socketsPerPrincipal: 1 } });
    agentToken = (await createActor(limited, { kind: 'AGENT', name: 'bounded-agent', roles: ['AGENT'] })).token;
  });
  afterAll(async () => {
    await limited?.stop();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${limited.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${agentToken}`,
        ...headers,
      },
      body,
    });

  it('refuses JSON-RPC batches and bodies over 1 MiB', async () => {
    const batch = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }]));
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { error: { message: string } }).error.message).toContain('batches are not accepted');
    const huge = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(1_100_000) } }));
    expect(huge.status).toBe(413);
  });

  it('serves at most MAX_SOCKETS_PER_PRINCIPAL requests of one principal at a time', async () => {
    const client = await connect(
      new StreamableHTTPClientTransport(new URL(`${limited.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${agentToken}` } },
      }),
    );
    const requested = await call(client, 'request_action', { action: 'deploy.update', resource: 'prod/api' });
    expect(requested.structured.status).toBe('PENDING');
    const waiting = call(client, 'wait_for_decision', { requestId: requested.structured.requestId, timeoutSeconds: 3 });
    await vi.waitFor(async () => {
      const second = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
      expect(second.status).toBe(429);
    });
    expect((await waiting).structured.status).toBe('PENDING');
    expect((await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }))).status).toBe(200);
  });
});

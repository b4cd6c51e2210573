import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/server/http-limits.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, type Actor } from '../support/fixtures.js';

// What the HTTP surface accepts and says, spoken to with plain fetch as any client would.

let server: TestServer;
let agent: Actor;

beforeAll(async () => {
  server = await startTestServer({ security: { corsOrigins: ['https://console.example.com'] } });
  agent = await createActor(server, { kind: 'AGENT', name: 'bot', roles: ['AGENT'] });
});

afterAll(async () => {
  await server?.stop();
});

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}`, ...headers }, body });

describe('the HTTP surface', () => {
  it('refuses form-encoded and other non-JSON POSTs with 415, writing nothing', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/graphql']) {
      const response = await post('query=%7B%20viewer%20%7B%20id%20%7D%20%7D', { 'content-type': type });
      expect(response.status, type).toBe(415);
      expect((await response.json()).errors[0].message).toBe('POST a JSON body with Content-Type: application/json.');
    }
    const none = await fetch(`${server.url}/graphql`, { method: 'POST', body: '{"query":"{ viewer { id } }"}' });
    expect(none.status).toBe(415);
  });

  it(`refuses a body over ${MAX_BODY_BYTES} bytes with 413, whatever Content-Length says`, async () => {
    const big = JSON.stringify({ query: '{ viewer { id } }', variables: { pad: 'x'.repeat(MAX_BODY_BYTES) } });
    expect((await post(big, { 'content-type': 'application/json' })).status).toBe(413);
    // Chunked, without a Content-Length: counted as it is read.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(100_000)));
        controller.close();
      },
    });
    const chunked = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    const fine = await post(JSON.stringify({ query: '{ viewer { id } }', variables: { pad: 'x'.repeat(1_000) } }), {
      'content-type': 'application/json',
    });
    expect(await fine.json()).toEqual({ data: { viewer: { id: agent.id } } });
  });

  it('answers malformed JSON with 400, not 500', async () => {
    for (const body of ['{"query": ', '[1, 2]', '"text"', 'null']) {
      const response = await post(body, { 'content-type': 'application/json' });
      expect(response.status, body).toBe(400);
    }
  });

  it('marks every GraphQL response Cache-Control: no-store', async () => {
    const authenticated = await post(JSON.stringify({ query: '{ viewer { id } }' }), { 'content-type': 'application/json' });
    expect(authenticated.headers.get('cache-control')).toBe('no-store');
    const anonymous = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ viewer { id } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
  });

  it('answers CORS only for a listed origin, never with credentials, never reflecting another', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const listed = await preflight('https://console.example.com');
    expect(listed.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
    expect(listed.headers.get('access-control-allow-credentials')).not.toBe('true');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).not.toBe('*');
  });

  it('sends no CORS headers at all when CORS_ORIGINS is unset', async () => {
    const plain = await startTestServer({ database: server.database });
    try {
      const response = await fetch(`${plain.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin: 'https://console.example.com', 'access-control-request-method': 'POST' },
      });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.stop();
    }
  });

  it('serves GraphiQL from the installed packages, loading nothing from elsewhere', async () => {
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<html');
    expect(html).not.toMatch(/(src|href)=["']https?:/i);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdn\./i);
  });

  it('turns GraphiQL and introspection off when asked (the production default)', async () => {
    const closed = await startTestServer({ database: server.database, security: { graphiql: false, introspection: false } });
    try {
      const page = await fetch(`${closed.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('<html');
      const introspection = await closed.gql(ADMIN_TOKEN, '{ __schema { queryType { name } } }');
      expect(introspection.errors?.[0]?.message).toMatch(/introspection/i);
      expect((await closed.gql(ADMIN_TOKEN, '{ viewer { name } }')).data).toEqual({ viewer: { name: 'bootstrap-admin' } });
    } finally {
      await closed.stop();
    }
  });

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${server.url}/health/live`);
    expect([live.status, await live.json()]).toEqual([200, { status: 'live' }]);
    for (const path of ['/health/ready', '/health']) {
      const ready = await fetch(`${server.url}${path}`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok', database: 'ok', events: 'ok' }]);
    }
  });
});

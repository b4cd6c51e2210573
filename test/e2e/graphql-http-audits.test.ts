import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';

// The GraphQL over HTTP specification's audits (graphql-http), against the live server. They send
// no token: the server must still speak the protocol right to an anonymous client.

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.stop();
});

describe('GraphQL over HTTP', () => {
  it('passes every graphql-http server audit, MUSTs and SHOULDs', async () => {
    const audits = serverAudits({ url: `${server.url}/graphql` });
    const results = [];
    for (const audit of audits) results.push({ ...(await audit.fn()), name: audit.name });
    const failing = results.filter((result) => result.status !== 'ok').map((result) => `${result.name}: ${result.reason}`);
    expect(failing).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(50);
  });
});

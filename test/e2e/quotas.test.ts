import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCodes, MAX_BYTES_BEFORE_INIT } from '../../src/server/websocket.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';
import { rawSocket } from '../support/raw-socket.js';

// Per-principal and per-address quotas. Every test client comes from 127.0.0.1, so each quota
// gets a server of its own.

const REQUESTS_PER_MINUTE = 5;

describe('the requestAction rate limit', () => {
  let server: TestServer;
  let agent: Actor;
  let other: Actor;

  beforeAll(async () => {
    server = await startTestServer({ security: { requestsPerMinute: REQUESTS_PER_MINUTE } });
    agent = await createActor(server, { kind: 'AGENT', name: 'busy-bot', roles: ['AGENT'] });
    other = await createActor(server, { kind: 'AGENT', name: 'quiet-bot', roles: ['AGENT'] });
    await publishPolicy(server, [{ id: 'all', effect: 'ALLOW', actions: ['**'], resources: ['**'] }]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(`takes ${REQUESTS_PER_MINUTE} at once from one agent, queued in turn, then answers RateLimitedError with retryAfter; other agents go on`, async () => {
    const burst = await Promise.all(
      Array.from({ length: REQUESTS_PER_MINUTE }, (_, i) =>
        requestAction(server, agent.token, { action: 'deploy.update', resource: `prod/${i}` }),
      ),
    );
    expect(burst.map((r) => r.data.requestAction.request?.status)).toEqual(Array(REQUESTS_PER_MINUTE).fill('APPROVED'));
    const limited = await server.gql(
      agent.token,
      `mutation { requestAction(input: { action: "deploy.update", resource: "prod/x" }) {
        request { id } errors { __typename message ... on RateLimitedError { retryAfter } } } }`,
    );
    expect(limited.data.requestAction.request).toBeNull();
    expect(limited.data.requestAction.errors[0]).toMatchObject({ __typename: 'RateLimitedError' });
    expect(limited.data.requestAction.errors[0].retryAfter).toBeGreaterThanOrEqual(1);
    expect(limited.data.requestAction.errors[0].retryAfter).toBeLessThanOrEqual(60);
    expect((await requestAction(server, other.token, { action: 'deploy.update', resource: 'prod/y' })).data.requestAction.errors).toEqual(
      [],
    );
  });
});

describe('the WebSocket quotas', () => {
  let server: TestServer;
  let agent: Actor;
  let other: Actor;

  beforeAll(async () => {
    server = await startTestServer({ security: { socketsPerPrincipal: 2 } });
    agent = await createActor(server, { kind: 'AGENT', name: 'socket-hog', roles: ['AGENT'] });
    other = await createActor(server, { kind: 'AGENT', name: 'polite', roles: ['AGENT'] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(`closes a principal's socket past the limit with ${CloseCodes.OverQuota}; closing one makes room; others are not affected`, async () => {
    const first = await rawSocket(server.wsUrl);
    await first.init(agent.token);
    const second = await rawSocket(server.wsUrl);
    await second.init(agent.token);
    const third = await rawSocket(server.wsUrl);
    third.send({ type: 'connection_init', payload: { authorization: `Bearer ${agent.token}` } });
    expect(await third.closed).toBe(CloseCodes.OverQuota);
    const others = await rawSocket(server.wsUrl);
    await others.init(other.token);
    first.socket.close();
    await first.closed;
    const again = await rawSocket(server.wsUrl);
    await again.init(agent.token);
    for (const socket of [second, others, again]) socket.socket.close();
  });

  it(`closes a socket that sends more than ${MAX_BYTES_BEFORE_INIT} bytes before connection_init is accepted (1009)`, async () => {
    const greedy = await rawSocket(server.wsUrl);
    greedy.send({ type: 'connection_init', payload: { authorization: 'Bearer x', pad: 'x'.repeat(MAX_BYTES_BEFORE_INIT) } });
    expect([CloseCodes.TooBig, 1006]).toContain(await greedy.closed);
    // A large message after connection_init is fine (up to 1 MiB).
    const fine = await rawSocket(server.wsUrl);
    await fine.init(agent.token);
    fine.send({ id: 'big', type: 'subscribe', payload: { query: '{ viewer { id } }', variables: { pad: 'x'.repeat(200_000) } } });
    expect(await fine.nextMessage()).toEqual({ id: 'big', type: 'next', payload: { data: { viewer: { id: agent.id } } } });
    fine.socket.close();
  });
});

describe('failed authentications', () => {
  let server: TestServer;
  let agent: Actor;

  beforeAll(async () => {
    server = await startTestServer({ security: { authFailuresPerMinute: 3 } });
    agent = await createActor(server, { kind: 'AGENT', name: 'bot', roles: ['AGENT'] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('are throttled per remote address: past the limit even a valid token waits (429, RATE_LIMITED, Retry-After)', async () => {
    const query = (token: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ viewer { id } }' }),
      });
    expect(await (await query(agent.token)).json()).toEqual({ data: { viewer: { id: agent.id } } });
    for (let i = 0; i < 3; i++) expect(await (await query(`gl_guess${i}`)).json()).toEqual({ data: { viewer: null } });
    const throttled = await query(agent.token);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await throttled.json()).errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) } });

    const socket = await rawSocket(server.wsUrl);
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${agent.token}` } });
    expect(await socket.closed).toBe(CloseCodes.OverQuota);
    const exported = await fetch(`${server.url}/audit/export`, { headers: { authorization: `Bearer ${agent.token}` } });
    expect(exported.status).toBe(429);
  });
});

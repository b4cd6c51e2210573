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

  it('frees the place of a socket that went away while its token was being checked', async () => {
    for (let i = 0; i < 6; i++) {
      // A token never used here, so checking it reads the database while the peer leaves.
      const issued = await server.gql(agent.token, 'mutation($n: String!) { issueToken(input: { name: $n }) { secret } }', {
        n: `gone-${i}`,
      });
      const gone = await rawSocket(server.wsUrl);
      gone.send({ type: 'connection_init', payload: { authorization: `Bearer ${issued.data.issueToken.secret}` } });
      gone.socket.terminate();
      await gone.closed;
    }
    const first = await rawSocket(server.wsUrl);
    await first.init(agent.token);
    const second = await rawSocket(server.wsUrl);
    await second.init(agent.token);
    first.socket.close();
    second.socket.close();
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

  it('are throttled per remote address: past the limit tokens it does not know wait (429, RATE_LIMITED, Retry-After); callers it knows go on', async () => {
    const query = (token: string, forwardedFor?: string) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
        },
        body: JSON.stringify({ query: '{ viewer { id } }' }),
      });
    expect(await (await query(agent.token)).json()).toEqual({ data: { viewer: { id: agent.id } } });
    for (let i = 0; i < 3; i++) expect(await (await query(`gl_guess${i}`)).json()).toEqual({ data: { viewer: null } });
    const throttled = await query('gl_guess3');
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await throttled.json()).errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) } });
    // A valid token this instance knows is not locked out by a neighbour's guessing...
    expect(await (await query(agent.token)).json()).toEqual({ data: { viewer: { id: agent.id } } });
    // ...but one it would have to look up waits, on every transport.
    const fresh = await createActor(server, { kind: 'AGENT', name: 'newcomer', roles: ['AGENT'] });
    expect((await query(fresh.token)).status).toBe(429);
    const socket = await rawSocket(server.wsUrl);
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${fresh.token}` } });
    expect(await socket.closed).toBe(CloseCodes.OverQuota);
    const exported = await fetch(`${server.url}/audit/export`, { headers: { authorization: `Bearer ${fresh.token}` } });
    expect(exported.status).toBe(429);
    // Without TRUST_PROXY, X-Forwarded-For is the client's word: it changes nothing.
    expect((await query('gl_guess4', '203.0.113.9')).status).toBe(429);
  });

  it('key on the last X-Forwarded-For address behind a trusted proxy', async () => {
    const proxied = await startTestServer({ database: server.database, security: { authFailuresPerMinute: 2, trustProxy: true } });
    try {
      const query = (token: string, forwardedFor: string) =>
        fetch(`${proxied.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor },
          body: JSON.stringify({ query: '{ viewer { id } }' }),
        });
      for (let i = 0; i < 2; i++) expect((await query(`gl_guess${i}`, 'spoofed, 198.51.100.1')).status).toBe(200);
      expect((await query('gl_guess2', 'other-spoof, 198.51.100.1')).status).toBe(429);
      expect((await query('gl_guess3', '198.51.100.2')).status).toBe(200);
    } finally {
      await proxied.stop();
    }
  });
});

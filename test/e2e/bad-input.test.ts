import { setFlagsFromString } from 'node:v8';
import { Writable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import { count } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { actionRequests, auditEvents, policyVersions } from '../../src/db/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, type Actor } from '../support/fixtures.js';
import { rawSocket } from '../support/raw-socket.js';

// Hostile input over HTTP and WebSocket: every answer is a 4xx or a typed error, never a 5xx or
// an unmasked error, nothing is half-written, and the process does not keep what it was sent.

let server: TestServer;
let agent: Actor;
const logged: string[] = [];
const SECRET = 'sentinel-secret-value-31337';

beforeAll(async () => {
  // The server's log at its most talkative, kept for the checks after each test.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString('utf8'));
      done();
    },
  });
  server = await startTestServer({ logger: createLogger({ level: 'debug', destination: sink, pretty: false }) });
  agent = await createActor(server, { kind: 'AGENT', name: 'fuzzed-bot', roles: ['AGENT'] });
  const publish = await server.gql(
    ADMIN_TOKEN,
    `mutation { publishPolicy(input: { rules: [{ id: "all", effect: ALLOW, actions: ["**"], resources: ["**"] }], redact: ["params.password"] }) { errors { message } } }`,
  );
  expect(publish.data.publishPolicy.errors).toEqual([]);
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation(
      (...args: unknown[]) =>
        void logged.push(
          args.map((arg) => (arg instanceof Error ? `${arg.message}\n${arg.stack}\n${JSON.stringify(arg)}` : String(arg))).join(' '),
        ),
    );
  }
});

afterAll(async () => {
  vi.restoreAllMocks();
  await server?.stop();
});

afterEach(() => {
  // Whatever was logged meanwhile (at least each request's line) holds no token and no value sent to be redacted.
  expect(logged.length).toBeGreaterThan(0);
  for (const line of logged) {
    expect(line).not.toContain(agent.token);
    expect(line).not.toContain(ADMIN_TOKEN);
    expect(line).not.toContain(SECRET);
  }
});

type Answer = { status: number; body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } };

async function post(query: string, variables?: unknown, token = agent.token): Promise<Answer> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** Never a 5xx, an internal error or a masked one. */
function expectHandled(answer: Answer, what: string): void {
  expect(answer.status, what).toBeLessThan(500);
  for (const error of answer.body.errors ?? []) {
    expect(error.message, what).not.toBe('Unexpected error.');
    expect(error.extensions?.code, what).not.toBe('INTERNAL_SERVER_ERROR');
  }
}

const REQUEST = `mutation($i: RequestActionInput!) { requestAction(input: $i) { request { id status } errors { __typename message } } }`;
const LONE = '\ud800';
const nested = (levels: number): unknown => {
  let value: unknown = SECRET;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
};
const rows = async () => {
  const [requests] = await server.app.deps.db.select({ n: count() }).from(actionRequests);
  const [events] = await server.app.deps.db.select({ n: count() }).from(auditEvents);
  return { requests: requests!.n, events: events!.n };
};

describe('bad input over HTTP', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a lone surrogate in params', { params: { name: `x${LONE}y`, password: SECRET } }],
    ['a lone surrogate in a params key', { params: { [`k${LONE}`]: 1 } }],
    ['params nested 2,000 levels', { params: nested(2_000) as Record<string, unknown> }],
    ['params with a 70,000-element list', { params: { list: Array.from({ length: 70_000 }, () => 0), password: SECRET } }],
    ['a lone surrogate in the reason', { reason: `because ${LONE}` }],
    ['a lone surrogate in context', { context: { ticket: `INC${LONE}` } }],
    ['a NUL in the reason', { reason: 'a\u0000b' }],
    ['a . segment in the resource', { resource: 'staging/../prod/db' }],
  ])('refuses %s with InvalidInputError, writing nothing', async (_what, overrides) => {
    const before = await rows();
    const answer = await post(REQUEST, { i: { action: 'deploy.update', resource: 'prod/api', ...overrides } });
    expectHandled(answer, _what);
    expect(answer.body.data.requestAction).toMatchObject({ request: null, errors: [{ __typename: 'InvalidInputError' }] });
    expect(JSON.stringify(answer.body)).not.toContain(SECRET);
    expect(await rows()).toEqual(before);
  });

  it.each<[string, string, unknown, string]>([
    [
      '70,000 statuses in a filter',
      `query($s: [ActionStatus!]) { actionRequests(filter: { statuses: $s }) { edges { cursor } } }`,
      { s: Array(70_000).fill('PENDING') },
      'agent',
    ],
    [
      '70,000 event types in a filter',
      `query($t: [AuditEventType!]) { auditEvents(filter: { types: $t }) { edges { cursor } } }`,
      { t: Array(70_000).fill('ACTION_REQUESTED') },
      'admin',
    ],
    [
      '70,000 groups in a filter',
      `query($g: [String!]) { principals(filter: { groups: $g }) { edges { cursor } } }`,
      { g: Array(70_000).fill('sre') },
      'admin',
    ],
    [
      'a NUL in a group filter',
      `query($g: [String!]) { principals(filter: { groups: $g }) { edges { cursor } } }`,
      { g: ['a\u0000'] },
      'admin',
    ],
    [
      '70,000 roles for a principal',
      `mutation($r: [Role!]!) { createPrincipal(input: { kind: HUMAN, name: "x", roles: $r }) { errors { __typename } } }`,
      { r: Array(70_000).fill('REVIEWER') },
      'admin',
    ],
    [
      'a lone surrogate in labels',
      `mutation($l: JSON) { createPrincipal(input: { kind: HUMAN, name: "x", roles: [AUDITOR], labels: $l }) { errors { __typename } } }`,
      { l: { k: LONE } },
      'admin',
    ],
    [
      'a lone surrogate in a policy',
      `mutation($d: String) { publishPolicy(input: { rules: [{ id: "r", effect: ALLOW, actions: ["*"], resources: ["*"], description: $d }] }) { errors { __typename } } }`,
      { d: LONE },
      'admin',
    ],
    [
      'a lone surrogate in a policy message',
      `mutation($m: String) { publishPolicy(input: { rules: [], message: $m }) { errors { __typename } } }`,
      { m: LONE },
      'admin',
    ],
    ['an invalid cursor', `query { actionRequests(after: "${SECRET}") { edges { cursor } } }`, undefined, 'agent'],
    [
      'a principals cursor holding a NUL',
      `query($c: String) { principals(after: $c) { edges { cursor } } }`,
      { c: Buffer.from('principal:["a\u0000b","00000000-0000-0000-0000-000000000000"]').toString('base64url') },
      'admin',
    ],
    [
      'an audit filter glob of 400,000 characters',
      `query($a: String) { auditEvents(filter: { action: $a }) { edges { cursor } } }`,
      { a: `${'*a'.repeat(200_000)}b` },
      'admin',
    ],
    ['a verification range that ends before it starts', `query { verifyAuditLog(from: 10, to: 2) { ok } }`, undefined, 'admin'],
    ['a document nested 2,000 levels', `{ viewer ${'{ owner '.repeat(2_000)}{ id }${' }'.repeat(2_000)} }`, undefined, 'agent'],
    ['a document of 70,000 fields', `{ ${'viewer { id } '.repeat(70_000)} }`, undefined, 'agent'],
    ['a variable of the wrong type', `query($n: Int) { actionRequests(first: $n) { edges { cursor } } }`, { n: 'many' }, 'agent'],
  ])('answers %s with a 4xx or a typed error, never a 5xx', async (what, query, variables, who) => {
    const before = await rows();
    const answer = await post(query, variables, who === 'admin' ? ADMIN_TOKEN : agent.token);
    expectHandled(answer, what);
    const text = JSON.stringify(answer.body);
    expect(text).not.toContain(SECRET);
    // Each is refused somewhere: in the payload's errors, as a GraphQL error, or by HTTP.
    expect(
      answer.status >= 400 ||
        (answer.body.errors?.length ?? 0) > 0 ||
        /"errors":\[\{/.test(text) ||
        what.includes('70,000 statuses') ||
        what.includes('70,000 event types'),
    ).toBe(true);
    const [policies] = await server.app.deps.db.select({ n: count() }).from(policyVersions);
    expect(policies!.n).toBe(1);
    expect((await rows()).requests).toBe(before.requests);
  });
});

describe('bad input over WebSocket', () => {
  it('fails only the operation on a validation error (depth, aliases), never the socket', async () => {
    const socket = await rawSocket(server.wsUrl);
    await socket.init(agent.token);
    socket.send({ id: 'deep', type: 'subscribe', payload: { query: `{ viewer ${'{ owner '.repeat(20)}{ id }${' }'.repeat(20)} }` } });
    expect(await socket.nextMessage()).toMatchObject({ id: 'deep', type: 'error' });
    socket.send({
      id: 'aliases',
      type: 'subscribe',
      payload: { query: `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: viewer { id }`).join(' ')} }` },
    });
    expect(await socket.nextMessage()).toMatchObject({ id: 'aliases', type: 'error' });
    socket.send({
      id: 'surrogate',
      type: 'subscribe',
      payload: { query: REQUEST, variables: { i: { action: 'a', resource: 'b', reason: LONE } } },
    });
    expect(await socket.nextMessage()).toMatchObject({
      id: 'surrogate',
      type: 'next',
      payload: { data: { requestAction: { errors: [{ __typename: 'InvalidInputError' }] } } },
    });
    expect(await socket.nextMessage()).toEqual({ id: 'surrogate', type: 'complete' });
    socket.send({ id: 'fine', type: 'subscribe', payload: { query: '{ viewer { id } }' } });
    expect(await socket.nextMessage()).toEqual({ id: 'fine', type: 'next', payload: { data: { viewer: { id: agent.id } } } });
    socket.socket.close();
  });

  it('refuses an audit subscription filter glob longer than a policy glob at once, keeping the socket', async () => {
    const socket = await rawSocket(server.wsUrl);
    await socket.init(ADMIN_TOKEN);
    socket.send({
      id: 'huge',
      type: 'subscribe',
      payload: {
        query: 'subscription($a: String) { auditEvents(filter: { action: $a }) { id } }',
        variables: { a: `${'*a'.repeat(200_000)}b` },
      },
    });
    // graphql-ws hands a subscription's refusal on as a result carrying the errors, then completes it.
    expect(await socket.nextMessage()).toMatchObject({
      id: 'huge',
      type: 'next',
      payload: { errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] },
    });
    expect(await socket.nextMessage()).toEqual({ id: 'huge', type: 'complete' });
    socket.send({ id: 'fine', type: 'subscribe', payload: { query: '{ viewer { name } }' } });
    expect(await socket.nextMessage()).toMatchObject({ id: 'fine', type: 'next' });
    socket.socket.close();
  });

  it.each<[string, (socket: Awaited<ReturnType<typeof rawSocket>>) => void]>([
    ['a binary frame', (s) => s.socket.send(Buffer.from([0, 1, 2, 3]))],
    ['text that is not JSON', (s) => s.socket.send('{"type": ')],
    ['an unknown message type', (s) => s.send({ type: 'gimme' })],
    ['a subscribe without an id', (s) => s.send({ type: 'subscribe', payload: { query: '{ viewer { id } }' } })],
    ['a subscribe before connection_init', (s) => s.send({ id: '1', type: 'subscribe', payload: { query: '{ viewer { id } }' } })],
  ])('closes on %s with a 4xx close code, never an internal error', async (_what, send) => {
    const socket = await rawSocket(server.wsUrl);
    send(socket);
    const code = await socket.closed;
    expect(code).toBeGreaterThanOrEqual(4400);
    expect(code).toBeLessThan(4500);
  });
});

describe('property: requestAction and publishPolicy', () => {
  /** Text including NUL, lone surrogates and emoji. */
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom('', '..', 'a/./b', LONE, '\u0000'),
  );
  const json = fc
    .jsonValue({ maxDepth: 4 })
    .map((value) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { value }));

  it('no input yields an unmasked error or a partial write', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            action: fc.oneof(text, fc.constantFrom('deploy.update', 'a.b-c')),
            resource: fc.oneof(text, fc.constantFrom('prod/api', 'x')),
            params: fc.oneof(json, fc.anything({ maxDepth: 2 }), fc.constant(null)),
            reason: fc.oneof(text, fc.constant(null)),
            idempotencyKey: fc.oneof(text, fc.constant(null)),
            onBehalfOf: fc.oneof(text, fc.uuid(), fc.constant(null)),
            context: fc.oneof(fc.dictionary(text, text, { maxKeys: 4 }), fc.anything({ maxDepth: 1 })),
          },
          { requiredKeys: ['action', 'resource'] },
        ),
        async (input) => {
          const before = await rows();
          const answer = await post(REQUEST, { i: input });
          expectHandled(answer, JSON.stringify(input));
          const after = await rows();
          const payload = answer.body.data?.requestAction;
          if (payload?.request) {
            expect(after.requests - before.requests).toBeLessThanOrEqual(1);
            // A new request writes its two events (requested, decided); an idempotent retry none.
            expect(after.events - before.events).toBe((after.requests - before.requests) * 2);
          } else {
            expect(after.requests).toBe(before.requests);
            // Only a refused onBehalfOf leaves a record (DELEGATION_REFUSED).
            expect(after.events - before.events).toBeLessThanOrEqual(
              payload?.errors?.[0]?.__typename === 'DelegationRequiredError' ? 1 : 0,
            );
          }
        },
      ),
      { numRuns: 150, seed: 20_261_205 },
    );
  });

  it('no policy yields an unmasked error or a partial publish', async () => {
    const PUBLISH = `mutation($i: PublishPolicyInput!) { publishPolicy(input: $i) { policy { version } errors { __typename } } }`;
    const glob = fc.oneof(text, fc.constantFrom('*', '**', 'prod/**', '{a,b}', '[a-', '!x', 'a|b'));
    const rule = fc.record(
      {
        id: fc.oneof(text, fc.constantFrom('r1', 'r2')),
        effect: fc.constantFrom('ALLOW', 'ESCALATE', 'BLOCK'),
        actions: fc.array(glob, { maxLength: 3 }),
        resources: fc.array(glob, { maxLength: 3 }),
        when: fc.oneof(
          text,
          fc.constantFrom(
            'params.x > 1',
            'reason.matches("(a+)+$")',
            'resource.matches(reason)',
            'params.l.exists(x, params.s.contains(x))',
          ),
        ),
        description: text,
        reason: text,
      },
      { requiredKeys: ['id', 'effect', 'actions', 'resources'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(rule, { maxLength: 4 }), fc.oneof(text, fc.constant(null)), async (rules, message) => {
        const [before] = await server.app.deps.db.select({ n: count() }).from(policyVersions);
        const answer = await post(PUBLISH, { i: { rules, message } }, ADMIN_TOKEN);
        expectHandled(answer, JSON.stringify(rules));
        const [after] = await server.app.deps.db.select({ n: count() }).from(policyVersions);
        expect(after!.n - before!.n).toBe(answer.body.data?.publishPolicy?.policy ? 1 : 0);
      }),
      { numRuns: 100, seed: 20_261_206 },
    );
  });
});

describe('memory', () => {
  it('returns to its baseline after 10,000 repetitions of bad input', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const attacks: (() => Promise<unknown>)[] = [
      () => post(REQUEST, { i: { action: 'deploy.update', resource: 'prod/api', params: nested(200) } }),
      () => post(REQUEST, { i: { action: 'a', resource: 'b', reason: LONE } }),
      () => post(`{ viewer ${'{ owner '.repeat(50)}{ id }${' }'.repeat(50)} }`),
      () =>
        fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'query=x',
        }).then((r) => r.text()),
      () => post('{ actionRequests(after: "garbage") { edges { cursor } } }'),
    ];
    const round = async (times: number) => {
      for (let i = 0; i < times; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => attacks[(i + j) % attacks.length]!()));
    };
    await round(1_000); // warm-up: caches, JIT, connection pools
    const baseline = heap();
    await round(10_000);
    const growth = heap() - baseline;
    expect(growth).toBeLessThan(16 * 1_024 * 1_024);

    // Over WebSocket too: 10,000 subscribe messages on one socket, each answered.
    const socket = await rawSocket(server.wsUrl);
    await socket.init(agent.token);
    const wsBaseline = heap();
    for (let i = 0; i < 10_000; i++) {
      socket.send({ id: `q${i}`, type: 'subscribe', payload: { query: i % 2 ? '{ viewer { id } }' : '{ viewer { nope } }' } });
      if (i % 100 === 99) {
        // Each operation ends with `complete` (after its `next`) or `error`; they may interleave.
        for (let ended = 0; ended < 100;) {
          const message = await socket.nextMessage();
          if (message.type === 'complete' || message.type === 'error') ended++;
          else expect(message.type).toBe('next');
        }
      }
    }
    expect(heap() - wsBaseline).toBeLessThan(16 * 1_024 * 1_024);
    socket.socket.close();
  }, 120_000);
});

import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { collect, createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// The server's structured log over a whole run at debug level: one JSON line per HTTP request
// with its facts, and never a token, a webhook secret, a redacted value or a bind parameter,
// including on the unexpected-error path (a statement that fails with the secrets among its
// parameters).

/** Every line the server logged, as written. */
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});

let server: TestServer;
let receiver: WebhookReceiver;
let agent: Actor;
let reviewer: Actor;
/** Everything secret this run created or sent: none may appear in the log. */
const secrets: string[] = [ADMIN_TOKEN];
const fresh = (label: string) => {
  const value = `${label}-${randomBytes(12).toString('hex')}`;
  secrets.push(value);
  return value;
};

beforeAll(async () => {
  server = await startTestServer({
    logger: createLogger({ level: 'debug', destination: sink, pretty: false }),
    webhooks: { allowPrivate: true, retryBaseMs: 50, intervalMs: 50 },
  });
  receiver = await startWebhookReceiver();
  agent = await createActor(server, { kind: 'AGENT', name: 'log-bot', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Lou', roles: ['REVIEWER'] });
  secrets.push(agent.token, reviewer.token);
  await publishPolicy(server, [{ id: 'all', effect: 'ESCALATE', actions: ['**'], resources: ['**'] }], 'ESCALATE', {
    redact: ['params.password'],
  });
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

/** The log lines, parsed (every one must be JSON). */
const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the log', () => {
  it('holds no secret from a full run, and one line per request with its facts', async () => {
    // Tokens issued, used, and a made-up one refused.
    const issued = await server.gql(
      ADMIN_TOKEN,
      'mutation IssueLogToken($input: IssueTokenInput!) { issueToken(input: $input) { secret errors { __typename } } }',
      { input: { name: 'second', principalId: agent.id } },
    );
    secrets.push(issued.data.issueToken.secret);
    const bogus = `gl_${fresh('bogus')}`;
    const refused = await server.gql(bogus, '{ viewer { id } }');
    expect(refused.data?.viewer ?? null).toBeNull();

    // A webhook and its rotated secret.
    const created = await server.gql(
      ADMIN_TOKEN,
      'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } secret errors { __typename } } }',
      { input: { url: receiver.url, events: ['*'] } },
    );
    const webhookId: string = created.data.createWebhook.webhook.id;
    secrets.push(created.data.createWebhook.secret);
    const rotated = await server.gql(
      ADMIN_TOKEN,
      'mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { secret errors { __typename } } }',
      { input: { webhookId } },
    );
    secrets.push(rotated.data.rotateWebhookSecret.secret);
    receiver.secrets = [created.data.createWebhook.secret, rotated.data.rotateWebhookSecret.secret];

    // A redacted value, requested, watched live by the reviewer, decided.
    const password = fresh('hunter2');
    const cursor = (await server.gql(reviewer.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
    const queue = collect(
      server.ws(reviewer.token).iterate<{ pendingApprovals: { kind: string; request: { params: unknown } } }>({
        query: 'subscription($after: String) { pendingApprovals(after: $after) { kind request { id params } } }',
        variables: { after: cursor },
      }),
    );
    const asked = await requestAction(server, agent.token, { action: 'db.login', resource: 'prod/db', params: { password } });
    const id: string = asked.data.requestAction.request.id;
    expect((await queue.next()).data!.pendingApprovals.kind).toBe('ADDED');
    await queue.return();
    await decideAction(server, reviewer.token, { requestId: id, verdict: 'APPROVE', comment: 'fine' });
    await receiver.until((received) => received.some((r) => r.body.type === 'action.approved'));

    // An unexpected failure: the insert is refused by the database, with the secret among its parameters.
    const boom = fresh('boom-password');
    await server.app.deps.db.execute(sql`ALTER TABLE action_requests ADD CONSTRAINT log_test_refuse CHECK (resource <> 'prod/boom')`);
    try {
      const failed = await server.gql(
        agent.token,
        'mutation AskBoom($input: RequestActionInput!) { requestAction(input: $input) { request { id } } }',
        { input: { action: 'db.login', resource: 'prod/boom', params: { password: boom } } },
      );
      expect(failed.errors?.[0]?.message).toBe('Unexpected error.');
    } finally {
      await server.app.deps.db.execute(sql`ALTER TABLE action_requests DROP CONSTRAINT log_test_refuse`);
    }

    const entries = parsed();
    const text = lines.join('\n');
    for (const secret of secrets) expect(text, 'a secret reached the log').not.toContain(secret);
    // The refused statement was logged, as its text and a count of parameters.
    const failure = entries.find(
      (entry) => entry['level'] === 50 && /Failed query:.*insert into \\?"?action_requests/is.test(JSON.stringify(entry)),
    );
    expect(failure).toBeDefined();
    expect(JSON.stringify(failure)).toMatch(/parameters not logged/);

    // One line per request, with its facts.
    const asks = entries.filter((entry) => entry['msg'] === 'request' && entry['operationName'] === 'AskBoom');
    expect(asks).toHaveLength(1);
    expect(asks[0]).toMatchObject({ method: 'POST', path: '/graphql', status: 200, principalId: agent.id });
    expect(asks[0]!['reqId']).toEqual(expect.any(String));
    expect(asks[0]!['durationMs']).toEqual(expect.any(Number));
    const issuing = entries.find((entry) => entry['operationName'] === 'IssueLogToken');
    expect(issuing).toMatchObject({ msg: 'request', status: 200 });
    expect(issuing!['principalId']).toEqual(expect.any(String));
  });

  it('sends back the request id, keeping a plain one the caller gave', async () => {
    const given = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-42' },
      body: JSON.stringify({ query: 'query Who { viewer { id } }' }),
    });
    expect(given.headers.get('x-request-id')).toBe('trace-42');
    const hostile = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': '"},{"level":60' },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(() => parsed().some((entry) => entry['reqId'] === 'trace-42' && entry['operationName'] === 'Who')).toBe(true);
  });
});

describe('createLogger', () => {
  it('writes human-readable lines when asked (as on a terminal), not JSON', async () => {
    const written: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = createLogger({ pretty: true, destination: out });
    log.info({ reqId: 'r-1' }, 'hello operator');
    await expect.poll(() => written.join('')).toContain('hello operator');
    const line = written.join('');
    expect(line).toContain('INFO');
    expect(line.trimStart().startsWith('{')).toBe(false);
  });
});

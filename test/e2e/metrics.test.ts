import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/graphql/schema.js';
import { SUBSCRIPTION_KINDS } from '../../src/server/websocket.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { collect, createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

// /metrics over real HTTP, read with a Prometheus text-format parser after a known scenario: the
// same names, labels and values on PGlite and on PostgreSQL.

const TOKEN = 'metrics-scraper-token-0123456789';

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }[];
}

let server: TestServer;
let agent: Actor;
let reviewer: Actor;

async function scrape(): Promise<Map<string, Family>> {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const families = parsePrometheusTextFormat(await response.text()) as Family[];
  return new Map(families.map((family) => [family.name, family]));
}

/** The value of one series, by its labels (all of them). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const series = families.get(name)?.metrics.find((metric) => JSON.stringify(metric.labels ?? {}) === JSON.stringify(labels));
  return series?.value === undefined ? undefined : Number(series.value);
}

beforeAll(async () => {
  server = await startTestServer({ metricsToken: TOKEN });
  agent = await createActor(server, { kind: 'AGENT', name: 'metric-bot', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Mona', roles: ['REVIEWER'], groups: ['ops'] });
  await publishPolicy(server, [
    { id: 'reads', effect: 'ALLOW', actions: ['db.read'], resources: ['**'] },
    { id: 'drops', effect: 'BLOCK', actions: ['db.drop'], resources: ['**'] },
    { id: 'writes', effect: 'ESCALATE', actions: ['db.write'], resources: ['**'], review: { groups: ['ops'] } },
  ]);
});

afterAll(async () => {
  await server?.stop();
});

const ask = async (action: string, resource: string) =>
  (await requestAction(server, agent.token, { action, resource })).data.requestAction.request;

describe('/metrics', () => {
  it('labels subscriptions by every subscription root field of the schema, and no other', () => {
    const fields = Object.keys(buildSchema().getSubscriptionType()!.getFields()).sort();
    expect([...SUBSCRIPTION_KINDS].sort()).toEqual(fields);
  });

  it('asks for METRICS_TOKEN when it is set', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
  });

  it('counts requests, decisions and time to decision at commit, and reads queue, sockets and the log', async () => {
    const before = await scrape();
    for (const name of [
      'greenlight_pending_requests',
      'greenlight_websocket_connections',
      'greenlight_event_hub_lag_seconds',
      'greenlight_audit_unsealed_events',
      'greenlight_audit_seal_lag_seconds',
      'greenlight_webhook_queue_depth',
      'process_cpu_user_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(before.has(name), name).toBe(true);
    }
    await ask('db.read', 'm/1');
    await ask('db.read', 'm/2');
    await ask('db.drop', 'm/3');
    const approved = await ask('db.write', 'm/4');
    await ask('db.write', 'm/5');
    await decideAction(server, reviewer.token, { requestId: approved.id, verdict: 'APPROVE' });

    // A live subscription, known to be open once it delivered an event.
    const cursor = (await server.gql(reviewer.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
    const queue = collect(
      server.ws(reviewer.token).iterate<any>({
        query: 'subscription($after: String) { pendingApprovals(after: $after) { kind request { id } } }',
        variables: { after: cursor },
      }),
    );
    const waiting = await ask('db.write', 'm/6');
    expect((await queue.next()).data.pendingApprovals.request.id).toBe(waiting.id);
    await server.gql(reviewer.token, 'query MetricsProbe { viewer { id } }');

    // The time to decision is read after the commit: wait for it to be counted.
    await expect.poll(async () => (await scrape()).get('greenlight_time_to_decision_seconds')?.metrics[0]?.count).toBe('1');
    const after = await scrape();
    expect(value(after, 'greenlight_action_requests_total', { effect: 'ALLOW', status: 'APPROVED' })).toBe(2);
    expect(value(after, 'greenlight_action_requests_total', { effect: 'BLOCK', status: 'BLOCKED' })).toBe(1);
    expect(value(after, 'greenlight_action_requests_total', { effect: 'ESCALATE', status: 'PENDING' })).toBe(3);
    expect(value(after, 'greenlight_decisions_total', { status: 'APPROVED', decided_by: 'POLICY' })).toBe(2);
    expect(value(after, 'greenlight_decisions_total', { status: 'BLOCKED', decided_by: 'POLICY' })).toBe(1);
    expect(value(after, 'greenlight_decisions_total', { status: 'APPROVED', decided_by: 'REVIEWER' })).toBe(1);
    expect(value(after, 'greenlight_pending_requests')).toBe(2);
    expect(value(after, 'greenlight_websocket_connections')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'greenlight_subscriptions', { kind: 'pendingApprovals' })).toBe(1);
    expect(value(after, 'greenlight_webhook_queue_depth')).toBe(0);
    const durations = after.get('greenlight_http_request_duration_seconds')!;
    expect(durations.type).toBe('HISTOGRAM');
    // This parser folds the series of a labelled histogram into one: read the count line itself.
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(text).toMatch(/^greenlight_http_request_duration_seconds_count\{operation="MetricsProbe"\} 1$/m);
  });
});

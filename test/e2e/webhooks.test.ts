import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { onPostgres } from '../support/database.js';
import { createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// Webhooks over real HTTP: deliveries come from the sealed audit log through the durable
// consumer, signed per Standard Webhooks and verified by a receiver using the `standardwebhooks`
// package, retried with backoff (shortened here), in order per request.

let server: TestServer;
let agent: Actor;
let reviewer: Actor;
const receivers: WebhookReceiver[] = [];

const CREATE = `mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    webhook { id url events format createdAt }
    secret
    errors { __typename message ... on InvalidInputError { problems { field message } } }
  }
}`;

const DELIVERIES = `query($id: ID!, $filter: WebhookDeliveryFilter) {
  webhookDeliveries(webhookId: $id, filter: $filter, first: 100) {
    edges { node { id eventType requestId status attemptCount attempts { statusCode error latencyMs } } }
  }
}`;

async function receiverWithWebhook(events: string[]): Promise<{ receiver: WebhookReceiver; id: string; secret: string }> {
  const receiver = await startWebhookReceiver();
  receivers.push(receiver);
  const created = await server.gql(ADMIN_TOKEN, CREATE, { input: { url: receiver.url, events, description: 'test receiver' } });
  expect(created.data.createWebhook.errors).toEqual([]);
  const { webhook, secret } = created.data.createWebhook;
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  receiver.secrets = [secret];
  return { receiver, id: webhook.id, secret };
}

async function ask(action: string, resource: string): Promise<{ id: string; status: string }> {
  const result = await requestAction(server, agent.token, { action, resource });
  expect(result.data.requestAction.errors).toEqual([]);
  return result.data.requestAction.request;
}

const RULES = [
  { id: 'reads', effect: 'ALLOW', actions: ['db.read'], resources: ['**'] },
  { id: 'drops', effect: 'BLOCK', actions: ['db.drop'], resources: ['**'], reason: 'Never' },
  { id: 'quick', effect: 'ESCALATE', actions: ['db.wait'], resources: ['**'], review: { groups: ['ops'], timeoutSeconds: 1 } },
  { id: 'writes', effect: 'ESCALATE', actions: ['db.write'], resources: ['**'], review: { groups: ['ops'] } },
];

beforeAll(async () => {
  server = await startTestServer({ sweepIntervalMs: 100, webhooks: { allowPrivate: true, retryBaseMs: 50, intervalMs: 50 } });
  agent = await createActor(server, { kind: 'AGENT', name: 'hook-bot', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Rita', roles: ['REVIEWER'], groups: ['ops'] });
  await publishPolicy(server, RULES);
});

afterAll(async () => {
  await server?.stop();
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

describe('webhooks', () => {
  it('delivers every event type once, signed, each in order per request', async () => {
    const { receiver } = await receiverWithWebhook(['*']);
    const allowed = await ask('db.read', 'hooks/allowed');
    const blocked = await ask('db.drop', 'hooks/blocked');
    const approved = await ask('db.write', 'hooks/approved');
    await decideAction(server, reviewer.token, { requestId: approved.id, verdict: 'APPROVE' });
    const rejected = await ask('db.write', 'hooks/rejected');
    await decideAction(server, reviewer.token, { requestId: rejected.id, verdict: 'REJECT', comment: 'no' });
    const cancelled = await ask('db.write', 'hooks/cancelled');
    await server.gql(agent.token, 'mutation($id: ID!) { cancelActionRequest(input: { requestId: $id }) { errors { __typename } } }', {
      id: cancelled.id,
    });
    await server.gql(
      agent.token,
      'mutation($id: ID!) { reportActionOutcome(input: { requestId: $id, outcome: SUCCEEDED }) { errors { __typename } } }',
      {
        id: allowed.id,
      },
    );
    const expired = await ask('db.wait', 'hooks/expired');
    await createActor(server, { kind: 'HUMAN', name: 'Newcomer', roles: ['AUDITOR'] });
    await publishPolicy(server, RULES);

    const expected: [string, string | null][] = [
      ['action.requested', allowed.id],
      ['action.approved', allowed.id],
      ['action.outcome_reported', allowed.id],
      ['action.requested', blocked.id],
      ['action.blocked', blocked.id],
      ['action.requested', approved.id],
      ['action.escalated', approved.id],
      ['action.approved', approved.id],
      ['action.escalated', rejected.id],
      ['action.rejected', rejected.id],
      ['action.escalated', cancelled.id],
      ['action.cancelled', cancelled.id],
      ['action.escalated', expired.id],
      ['action.expired', expired.id],
      ['principal.changed', null],
      ['policy.published', null],
    ];
    const seen = (type: string, requestId: string | null) => (received: typeof receiver.received) =>
      received.some((r) => r.body.type === type && (requestId === null || r.body.data.request?.id === requestId));
    for (const [type, requestId] of expected) await receiver.until(seen(type, requestId));

    expect(receiver.rejected).toBe(0);
    // Once each: no webhook-id twice, no event (seq) twice.
    const ids = receiver.received.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const seqs = receiver.received.map((r) => r.body.data.event.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    // In order per request: each request's events arrive in chain order.
    for (const id of [allowed.id, approved.id, rejected.id, cancelled.id, expired.id]) {
      const ofRequest = receiver.received.filter((r) => r.body.data.request?.id === id).map((r) => r.body.data.event.seq);
      expect(ofRequest).toEqual([...ofRequest].sort((a, b) => a - b));
    }
    const approval = receiver.received.find((r) => r.body.type === 'action.approved' && r.body.data.request?.id === approved.id)!;
    expect(approval.body.data.request).toMatchObject({ id: approved.id, status: 'APPROVED' });
    expect(approval.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('retries a failing endpoint with backoff: two failures, delivered on the third attempt', async () => {
    const { receiver, id } = await receiverWithWebhook(['action.blocked']);
    receiver.failNext(2);
    const blocked = await ask('db.drop', 'hooks/retried');
    await receiver.until((received) => received.some((r) => r.body.data.request?.id === blocked.id));
    // The answer reached the receiver before the server recorded it: wait for the record.
    const deliveryOf = async () => (await server.gql(ADMIN_TOKEN, DELIVERIES, { id })).data.webhookDeliveries.edges[0]?.node;
    await expect.poll(async () => (await deliveryOf())?.status).toBe('DELIVERED');
    const delivery = await deliveryOf();
    expect(delivery).toMatchObject({ eventType: 'action.blocked', requestId: blocked.id, status: 'DELIVERED', attemptCount: 3 });
    expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 204]);
    expect(delivery.attempts[0].error).toBe('HTTP 500');
  });

  it('keeps serving a healthy endpoint while another hangs', async () => {
    const hung = await receiverWithWebhook(['action.blocked']);
    const healthy = await receiverWithWebhook(['action.blocked']);
    hung.receiver.hold();
    const first = await ask('db.drop', 'hooks/hung-1');
    await hung.receiver.until((received) => received.some((r) => r.body.data.request?.id === first.id));
    // The hung endpoint holds its answer; the healthy one hears of this and of the next.
    const second = await ask('db.drop', 'hooks/hung-2');
    await healthy.receiver.until((received) => [first.id, second.id].every((id) => received.some((r) => r.body.data.request?.id === id)));
    // Meanwhile the hung endpoint's first delivery is still out, unanswered.
    const stuck = await server.gql(ADMIN_TOKEN, DELIVERIES, { id: hung.id, filter: { statuses: ['PENDING'] } });
    expect(stuck.data.webhookDeliveries.edges.map((edge: { node: { requestId: string } }) => edge.node.requestId)).toContain(first.id);
    hung.receiver.release();
  });

  it('signs with both secrets during a rotation grace period, then with the new one alone', async () => {
    const { receiver, id, secret: old } = await receiverWithWebhook(['action.blocked']);
    const ROTATE = `mutation($input: RotateWebhookSecretInput!) {
      rotateWebhookSecret(input: $input) { secret webhook { previousSecretExpiresAt } errors { __typename } }
    }`;
    const rotated = await server.gql(ADMIN_TOKEN, ROTATE, { input: { webhookId: id, graceSeconds: 3600 } });
    const fresh = rotated.data.rotateWebhookSecret.secret as string;
    expect(fresh).not.toBe(old);
    expect(rotated.data.rotateWebhookSecret.webhook.previousSecretExpiresAt).toEqual(expect.any(String));
    receiver.secrets = [fresh];
    const during = await ask('db.drop', 'hooks/rotating');
    await receiver.until((received) => received.some((r) => r.body.data.request?.id === during.id));
    const delivery = receiver.received.find((r) => r.body.data.request?.id === during.id)!;
    const headers = delivery.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(old).verify(delivery.raw, headers)).not.toThrow();
    expect(() => new Webhook(fresh).verify(delivery.raw, headers)).not.toThrow();

    // Rotated again without grace: only the newest secret signs.
    const newest = (await server.gql(ADMIN_TOKEN, ROTATE, { input: { webhookId: id, graceSeconds: 0 } })).data.rotateWebhookSecret.secret;
    receiver.secrets = [newest];
    const after = await ask('db.drop', 'hooks/rotated');
    await receiver.until((received) => received.some((r) => r.body.data.request?.id === after.id));
    const alone = receiver.received.find((r) => r.body.data.request?.id === after.id)!;
    expect((alone.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
    expect(() => new Webhook(fresh).verify(alone.raw, alone.headers as Record<string, string>)).toThrow();
  });

  it('updates, deletes (pending deliveries become DEAD) and redelivers, and keeps the URL out of the audit log', async () => {
    const { receiver, id } = await receiverWithWebhook(['action.blocked']);
    const UPDATE =
      'mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { events description } errors { __typename } } }';
    const updated = await server.gql(ADMIN_TOKEN, UPDATE, {
      input: { webhookId: id, events: ['action.blocked', 'action.requested'], description: 'ops' },
    });
    expect(updated.data.updateWebhook).toEqual({
      webhook: { events: ['action.blocked', 'action.requested'], description: 'ops' },
      errors: [],
    });
    receiver.failNext(Number.MAX_SAFE_INTEGER);
    const failing = await ask('db.drop', 'hooks/deleted');
    await receiver.untilAttempted();
    const deleted = await server.gql(
      ADMIN_TOKEN,
      'mutation($id: ID!) { deleteWebhook(webhookId: $id) { webhook { id } errors { __typename } } }',
      { id },
    );
    expect(deleted.data.deleteWebhook.errors).toEqual([]);
    const deliveryOf = async () =>
      (await server.gql(ADMIN_TOKEN, DELIVERIES, { id })).data.webhookDeliveries.edges
        .map((edge: { node: { id: string; requestId: string; status: string; eventType: string } }) => edge.node)
        .filter((node: { requestId: string }) => node.requestId === failing.id);
    await expect.poll(async () => (await deliveryOf()).map((d: { status: string }) => d.status)).toEqual(['DEAD', 'DEAD']);
    // Deleted: it cannot be redelivered; the audit log names the endpoint by origin and hash only.
    const [dead] = await deliveryOf();
    const REDELIVER = 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { delivery { status } errors { __typename } } }';
    expect((await server.gql(ADMIN_TOKEN, REDELIVER, { id: dead.id })).data.redeliverWebhook.errors).toEqual([
      { __typename: 'NotFoundError' },
    ]);
    const log = await server.gql(
      ADMIN_TOKEN,
      '{ auditEvents(first: 100, orderBy: SEQ_DESC, filter: { types: [WEBHOOK_CREATED, WEBHOOK_DELETED] }) { edges { node { data } } } }',
    );
    const urls = log.data.auditEvents.edges.map((edge: { node: { data: { url: string } } }) => edge.node.data.url);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/… \(sha256:[0-9a-f]{16}\)$/);
  });

  it('redelivers a dead delivery, with the same webhook-id', async () => {
    const { receiver, id } = await receiverWithWebhook(['action.blocked']);
    receiver.failNext(Number.MAX_SAFE_INTEGER);
    const blocked = await ask('db.drop', 'hooks/redelivered');
    await receiver.untilAttempted();
    // Give up on it by hand: the retry window is a day.
    const [delivery] = (await server.gql(ADMIN_TOKEN, DELIVERIES, { id })).data.webhookDeliveries.edges.map(
      (e: { node: { id: string } }) => e.node,
    );
    await server.app.deps.db.execute(sql`UPDATE webhook_deliveries SET status = 'DEAD', lease_until = NULL WHERE id = ${delivery.id}`);
    receiver.failNext(0);
    const REDELIVER = 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { delivery { id status } errors { __typename } } }';
    const again = await server.gql(ADMIN_TOKEN, REDELIVER, { id: delivery.id });
    expect(again.data.redeliverWebhook).toEqual({ delivery: { id: delivery.id, status: 'PENDING' }, errors: [] });
    await receiver.until((received) => received.some((r) => r.body.data.request?.id === blocked.id));
    expect(receiver.received.find((r) => r.body.data.request?.id === blocked.id)!.id).toBe(delivery.id);
  });

  it('refuses bad input with typed errors, and non-admins', async () => {
    const bad = await server.gql(ADMIN_TOKEN, CREATE, { input: { url: 'ftp://example.com/x', events: ['action.nope'] } });
    expect(bad.data.createWebhook.errors[0].__typename).toBe('InvalidInputError');
    expect(bad.data.createWebhook.errors[0].problems.map((p: { field: string }) => p.field).sort()).toEqual(['events.0', 'url']);
    const denied = await server.gql(reviewer.token, CREATE, { input: { url: 'https://example.com/x', events: ['*'] } });
    expect(denied.data.createWebhook.errors[0].__typename).toBe('NotAllowedError');
  });
});

describe('webhooks with two instances', () => {
  it('delivers each event once, though both instances consume the log and send', async () => {
    // On PostgreSQL a second instance joins the same database (its own pool, consumer and
    // dispatcher); on PGlite there is one instance, and the same scenario checks it alone.
    const second = onPostgres
      ? await startTestServer({
          database: server.database,
          sweepIntervalMs: 100,
          webhooks: { allowPrivate: true, retryBaseMs: 50, intervalMs: 50 },
        })
      : server;
    try {
      const { receiver } = await receiverWithWebhook(['action.blocked']);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const via = i % 2 === 0 ? server : second;
        const result = await requestAction(via, agent.token, { action: 'db.drop', resource: `hooks/pair-${i}` });
        ids.push(result.data.requestAction.request.id);
      }
      await receiver.until((received) => ids.every((id) => received.some((r) => r.body.data.request?.id === id)));
      const perRequest = ids.map((id) => receiver.received.filter((r) => r.body.data.request?.id === id).length);
      expect(perRequest).toEqual(ids.map(() => 1));
      const deliveries = (await second.gql(ADMIN_TOKEN, '{ webhooks { id } }')).data.webhooks;
      expect(deliveries.length).toBeGreaterThan(0);
    } finally {
      if (second !== server) await second.stop();
    }
  });
});

describe('webhook targets', () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startTestServer();
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it('refuses loopback, private, link-local and metadata addresses, and names resolving to them, at creation', async () => {
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://10.1.2.3/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://localhost:9/x',
    ]) {
      const refused = await strict.gql(ADMIN_TOKEN, CREATE, { input: { url, events: ['*'] } });
      expect(refused.data.createWebhook.errors[0]?.problems?.[0]?.message, url).toMatch(/^is refused: .*private or reserved address/);
    }
  });
});

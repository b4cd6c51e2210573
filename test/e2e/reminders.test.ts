import { and, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { tamper } from '../support/audit-log.js';
import { allSealed, collect, createActor, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// Reminders and alarms over real HTTP and WebSocket: `action.expiring` at the policy's share of a
// request's timeout, once, to webhooks and to the reviewer's live queue; and
// `audit.verification_failed` when a check finds the audit log broken, once per break.

let server: TestServer;
let agent: Actor;
let reviewer: Actor;
const receivers: WebhookReceiver[] = [];

async function receiverFor(events: string[]): Promise<WebhookReceiver> {
  const receiver = await startWebhookReceiver();
  receivers.push(receiver);
  const created = await server.gql(
    ADMIN_TOKEN,
    'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret errors { __typename message } } }',
    { input: { url: receiver.url, events } },
  );
  expect(created.data.createWebhook.errors).toEqual([]);
  receiver.secrets = [created.data.createWebhook.secret];
  return receiver;
}

async function countOf(type: 'ACTION_EXPIRING' | 'AUDIT_VERIFICATION_FAILED', requestId?: string): Promise<number> {
  const [row] = await server.app.deps.db
    .select({ n: count() })
    .from(auditEvents)
    .where(and(eq(auditEvents.type, type), requestId ? eq(auditEvents.requestId, requestId) : undefined));
  return row!.n;
}

beforeAll(async () => {
  server = await startTestServer({ sweepIntervalMs: 100, webhooks: { allowPrivate: true, retryBaseMs: 50, intervalMs: 50 } });
  agent = await createActor(server, { kind: 'AGENT', name: 'remind-bot', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Rita', roles: ['REVIEWER'], groups: ['ops'] });
  await publishPolicy(server, [
    {
      id: 'short',
      effect: 'ESCALATE',
      actions: ['db.wait'],
      resources: ['**'],
      review: { groups: ['ops'], timeoutSeconds: 3, remindAt: 0.4 },
    },
  ]);
});

afterAll(async () => {
  await server?.stop();
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

describe('action.expiring', () => {
  it("is sent once, at review.remindAt of the timeout, to webhooks and to the reviewer's live queue", async () => {
    const receiver = await receiverFor(['action.expiring', 'action.expired']);
    const cursor = (await server.gql(reviewer.token, '{ pendingApprovals(first: 1) { streamCursor } }')).data.pendingApprovals.streamCursor;
    const queue = collect(
      server.ws(reviewer.token).iterate<{ pendingApprovals: { kind: string; request: { id: string; remindedAt: string | null } } }>({
        query: 'subscription($after: String) { pendingApprovals(after: $after) { kind request { id remindedAt } } }',
        variables: { after: cursor },
      }),
    );
    const asked = await requestAction(server, agent.token, { action: 'db.wait', resource: 'prod/slow' });
    const id: string = asked.data.requestAction.request.id;

    const kinds: string[] = [];
    for (;;) {
      const { kind, request } = (await queue.next()).data!.pendingApprovals;
      expect(request.id).toBe(id);
      kinds.push(kind);
      if (kind === 'UPDATED') {
        expect(request.remindedAt).not.toBeNull();
        break;
      }
    }
    expect(kinds).toEqual(['ADDED', 'UPDATED']);
    await queue.return();

    // Once the request expired, its reminder (ordered before it) has arrived, exactly once.
    await receiver.until((received) => received.some((r) => r.body.type === 'action.expired' && r.body.data.request?.id === id));
    const types = receiver.received.filter((r) => r.body.data.request?.id === id).map((r) => r.body.type);
    expect(types).toEqual(['action.expiring', 'action.expired']);
    expect(receiver.rejected).toBe(0);
    expect(await countOf('ACTION_EXPIRING', id)).toBe(1);

    const read = await server.gql(reviewer.token, 'query($id: ID!) { actionRequest(id: $id) { status remindedAt expiresAt } }', { id });
    const { status, remindedAt, expiresAt } = read.data.actionRequest;
    expect(status).toBe('EXPIRED');
    // Reminded at 40 % of 3 s: before the deadline.
    expect(Date.parse(remindedAt)).toBeLessThan(Date.parse(expiresAt));
  });
});

describe('audit.verification_failed', () => {
  it('is recorded and sent once per break, whoever runs the check and however often', async () => {
    const receiver = await receiverFor(['audit.verification_failed']);
    await allSealed(server);
    const verify = async () =>
      (await server.gql(ADMIN_TOKEN, '{ verifyAuditLog { ok firstBrokenSeq reason } }')).data.verifyAuditLog as {
        ok: boolean;
        firstBrokenSeq: number | null;
        reason: string;
      };
    expect((await verify()).ok).toBe(true);
    expect(await countOf('AUDIT_VERIFICATION_FAILED')).toBe(0);

    // Someone with database access rewrites history: seq 3 says something else now.
    await tamper(server.app, sql`UPDATE audit_events SET data = '{"edited":true}'::jsonb WHERE seq = 3`);
    const first = await verify();
    expect(first).toMatchObject({ ok: false, firstBrokenSeq: 3 });
    await receiver.until((received) => received.length > 0);
    const [alarm] = receiver.received;
    expect(alarm!.body.type).toBe('audit.verification_failed');
    expect(alarm!.body.data.event).toMatchObject({ type: 'AUDIT_VERIFICATION_FAILED' });
    expect((alarm!.body.data.event as unknown as { data: Record<string, unknown> }).data).toMatchObject({
      firstBrokenSeq: 3,
      reason: first.reason,
    });

    // The same break found again is not recorded again.
    expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: 3 });
    await allSealed(server);
    expect(await countOf('AUDIT_VERIFICATION_FAILED')).toBe(1);
  });
});

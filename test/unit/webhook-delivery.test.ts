import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isForbiddenAddress } from '../../src/notifications/addresses.js';
import { retryDelayMs, signedHeaders } from '../../src/notifications/dispatcher.js';
import { slackMessage, type WebhookBody } from '../../src/notifications/payload.js';
import { MAX_RESPONSE_BYTES, send } from '../../src/notifications/sender.js';
import { newSecret } from '../../src/notifications/webhooks.js';

// The parts of webhook delivery that need no database: which addresses are refused, the HTTP
// client's limits (no redirects, bounded reads, the check after DNS), signatures and backoff.

let port: number;
let hits = 0;
const server = createServer((req, res) => {
  hits++;
  if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
  if (req.url === '/huge') {
    res.writeHead(200);
    res.end(Buffer.alloc(MAX_RESPONSE_BYTES * 16, 'x'));
    return;
  }
  res.writeHead(204).end();
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('webhook targets', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.0.0.8', true],
    ['172.20.1.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fd00:ec2::254', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['64:ff9b::a9fe:a9fe', true],
    ['::7f00:1', true],
    ['::a9fe:a9fe', true],
    ['::ffff:0:7f00:1', true],
    ['64:ff9b:1::7f00:1', true],
    ['2002:7f00:1::', true],
    ['not-an-address', true],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false],
    ['::ffff:8.8.8.8', false],
  ])('%s is refused: %s', (address, refused) => {
    expect(isForbiddenAddress(address)).toBe(refused);
  });

  it('refuses a name resolving to loopback at connect time, before anything is sent', async () => {
    const before = hits;
    const result = await send(`http://localhost:${port}/`, {}, '{}', false);
    expect(result.statusCode).toBeNull();
    expect(result.error).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a private or reserved address$/);
    expect(hits).toBe(before);
    expect((await send(`http://[::ffff:127.0.0.1]:${port}/`, {}, '{}', false)).error).toMatch(/private or reserved/);
  });

  it('sends where private targets are allowed, follows no redirect, and reads a bounded answer', async () => {
    expect(await send(`http://localhost:${port}/`, {}, '{}', true)).toMatchObject({ statusCode: 204, error: null });
    expect(await send(`http://127.0.0.1:${port}/redirect`, {}, '{}', true)).toMatchObject({
      statusCode: 302,
      error: 'HTTP 302: redirects are not followed',
    });
    expect(await send(`http://127.0.0.1:${port}/huge`, {}, '{}', true)).toMatchObject({ statusCode: 200, error: null });
  });
});

describe('signatures and retries', () => {
  it('signs per Standard Webhooks, with the previous secret too during a rotation', () => {
    const [current, previous] = [newSecret(), newSecret()];
    const body = JSON.stringify({ type: 'action.approved' });
    const headers = signedHeaders({ id: 'delivery-1', secret: current, previousSecret: previous }, body);
    expect(headers['webhook-id']).toBe('delivery-1');
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [current, previous]) expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'action.approved' });
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, headers)).toThrow();
  });

  it('doubles the delay from the base, with ±20 % jitter, up to an hour', () => {
    expect(retryDelayMs(1_000, 1, 0.5)).toBe(1_000);
    expect(retryDelayMs(1_000, 2, 0.5)).toBe(2_000);
    expect(retryDelayMs(1_000, 4, 0.5)).toBe(8_000);
    expect(retryDelayMs(1_000, 4, 0)).toBe(6_400);
    expect(retryDelayMs(1_000, 4, 1)).toBe(9_600);
    expect(retryDelayMs(30_000, 40, 0.5)).toBe(3_600_000);
  });
});

describe('Slack messages', () => {
  it("escape an agent's text, so it cannot mention a channel or forge a link", () => {
    const body: WebhookBody = {
      type: 'action.escalated',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: {
        event: { seq: 1, type: 'ACTION_ESCALATED', actorId: null, data: {} },
        request: {
          id: 'r',
          action: 'deploy <!channel>',
          resource: '<https://evil.example|prod>',
          status: 'PENDING',
          reason: 'a & b',
          params: {},
          agentId: 'a',
          onBehalfOfId: null,
          createdAt: '',
          expiresAt: null,
          decidedAt: null,
          decidedBy: null,
          decisionReason: null,
          outcome: null,
        },
        consoleUrl: 'https://greenlight.example/console/#inbox',
      },
    };
    const text = JSON.stringify(slackMessage(body));
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('a &amp; b');
    // Nothing of the agent's text makes a new line (a forged field), and Slack parses none of it.
    expect(text).not.toContain('evil\\n');
    expect(
      JSON.stringify(
        slackMessage({ ...body, data: { ...body.data, request: { ...body.data.request!, reason: 'x\n*Status*\nAPPROVED' } } }),
      ),
    ).toContain('x *Status* APPROVED');
    expect(text).not.toContain('"verbatim":false');
    expect(text).toContain('"verbatim":true');
    expect(text).toContain('"url":"https://greenlight.example/console/#inbox"');
  });
});

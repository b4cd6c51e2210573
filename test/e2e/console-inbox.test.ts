import type { Browser, Locator, Page } from 'playwright-core';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionRequests } from '../../src/db/schema.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { launchBrowser } from '../support/browser.js';
import { expectAccessible, openConsole, PHONE, screenshot } from '../support/console.js';
import { collect, createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

// The reviewer's inbox in a real Chromium against a real server: live arrival and departure,
// decisions, approve with changes, extensions, a dropped socket, standing approvals, batches,
// and text that tries to hide what it says.

let server: TestServer;
let browser: Browser;
let agent: Actor;
let ada: Actor;
let alan: Actor;
const pages: Page[] = [];

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  ada = await createActor(server, { kind: 'HUMAN', name: 'Ada Lovelace', roles: ['REVIEWER'], groups: ['sre'] });
  alan = await createActor(server, { kind: 'HUMAN', name: 'Alan Turing', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(
    server,
    [
      { id: 'too-big', effect: 'BLOCK', actions: ['deploy.scale'], resources: ['**'], when: 'params.replicas > 10', reason: 'At most 10' },
      {
        id: 'scale',
        effect: 'ESCALATE',
        actions: ['deploy.scale'],
        resources: ['**'],
        allowAmend: true,
        reason: 'Scaling production needs a person',
        review: { groups: ['sre'] },
      },
      { id: 'deploys', effect: 'ESCALATE', actions: ['deploy.update'], resources: ['**'], review: { groups: ['sre'] } },
    ],
    'ESCALATE',
    { redact: ['params.password'] },
  );
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function inboxOf(actor: Actor, options: { viewport?: { width: number; height: number }; url?: string } = {}): Promise<Page> {
  const page = await openConsole(browser, options.url ?? server.url, actor.token, { viewport: options.viewport, view: 'inbox' });
  pages.push(page);
  await expect.poll(() => page.locator('.feed').textContent()).toBe('Live');
  return page;
}

async function ask(action: string, resource: string, params: Record<string, unknown> = {}, reason = 'Routine change'): Promise<string> {
  const result = await requestAction(server, agent.token, { action, resource, params, reason });
  expect(result.data.requestAction.errors).toEqual([]);
  return result.data.requestAction.request.id;
}

/** The inbox item for a resource (resources are unique per test). */
const itemOf = (page: Page, resource: string): Locator => page.locator('li.item').filter({ hasText: resource });

const statusOf = async (id: string) =>
  (
    await server.gql(ada.token, 'query($id: ID!) { actionRequest(id: $id) { status decisionReason amendedParams expiresAt extensions } }', {
      id,
    })
  ).data.actionRequest;

describe('the inbox', () => {
  it('shows a new request to two reviewers live; one approves with a comment, it leaves the other at once, and the agent hears APPROVED', async () => {
    const [first, second] = [await inboxOf(ada), await inboxOf(alan)];
    const id = await ask('deploy.update', 'prod/web-live', { image: 'web:2.4.1' }, 'Roll out the fix for checkout');
    const decided = collect(
      server
        .ws(agent.token)
        .iterate<any>({ query: 'subscription($id: ID) { actionDecided(requestId: $id) { status decisionReason } }', variables: { id } }),
    );
    for (const page of [first, second]) {
      const item = itemOf(page, 'prod/web-live');
      await item.waitFor();
      expect(await item.textContent()).toContain('deploy-bot');
      expect(await item.textContent()).toContain('Roll out the fix for checkout');
      expect(await item.locator('.json').textContent()).toContain('"image": "web:2.4.1"');
      expect(await item.textContent()).toContain('0 of 1');
      expect(await item.locator('.countdown').textContent()).toMatch(/Deadline in/);
    }
    await screenshot(first, 'inbox');
    await itemOf(first, 'prod/web-live').getByLabel('Comment').fill('Checked the diff');
    await itemOf(first, 'prod/web-live').getByRole('button', { name: 'Approve', exact: true }).click();

    await itemOf(second, 'prod/web-live').waitFor({ state: 'detached' });
    expect(await second.locator('.departed').textContent()).toContain('was approved by Ada Lovelace: “Checked the diff”');
    expect(await first.locator('.departed').textContent()).toContain('You approved deploy.update on prod/web-live');
    expect((await decided.next()).data!.actionDecided).toEqual({ status: 'APPROVED', decisionReason: 'Checked the diff' });
  });

  it('rejects with a comment, approves with changes (a change the policy would block is refused in place), and extends', async () => {
    const page = await inboxOf(ada);
    const rejected = await ask('deploy.update', 'prod/reject-me');
    await itemOf(page, 'prod/reject-me').getByLabel('Comment').fill('Not during the freeze');
    await itemOf(page, 'prod/reject-me').getByRole('button', { name: 'Reject' }).click();
    await itemOf(page, 'prod/reject-me').waitFor({ state: 'detached' });
    expect(await statusOf(rejected)).toMatchObject({ status: 'REJECTED', decisionReason: 'Not during the freeze' });

    const amended = await ask('deploy.scale', 'prod/amend-me', { replicas: 3 });
    const item = itemOf(page, 'prod/amend-me');
    await item.getByRole('button', { name: 'Approve with changes…' }).click();
    await item.getByLabel('Changed params (JSON)').fill('{ "replicas": 12 }');
    expect(await item.locator('.changes').textContent()).toContain('params.replicas changed: − 3 + 12');
    await item.getByRole('button', { name: 'Approve with changes' }).click();
    await expect
      .poll(() => item.getByRole('alert').textContent())
      .toBe('Refused: params: the change was refused: the policy would block the changed request by "too-big" (At most 10)');
    expect(await statusOf(amended)).toMatchObject({ status: 'PENDING', amendedParams: null });

    await item.getByLabel('Changed params (JSON)').fill('{ "replicas": 2 }');
    await item.getByRole('button', { name: 'Approve with changes' }).click();
    await item.waitFor({ state: 'detached' });
    expect(await statusOf(amended)).toMatchObject({ status: 'APPROVED', amendedParams: { replicas: 2 } });

    const extended = await ask('deploy.update', 'prod/extend-me');
    const before = (await statusOf(extended)).expiresAt;
    await itemOf(page, 'prod/extend-me').getByRole('button', { name: 'Extend deadline…' }).click();
    await itemOf(page, 'prod/extend-me').getByLabel('Extend the deadline by').selectOption({ label: '1 hour' });
    await itemOf(page, 'prod/extend-me').getByRole('button', { name: 'Extend', exact: true }).click();
    await expect.poll(() => itemOf(page, 'prod/extend-me').locator('.countdown').textContent()).toContain('extended 1 time');
    const after = await statusOf(extended);
    expect(after.extensions).toBe(1);
    expect(Date.parse(after.expiresAt) - Date.parse(before)).toBe(3_600_000);
  });

  it('marks a request live once reviewers were reminded that its deadline is near (action.expiring)', async () => {
    const page = await inboxOf(ada);
    const id = await ask('deploy.update', 'prod/remind-me');
    await itemOf(page, 'prod/remind-me').waitFor();
    expect(await itemOf(page, 'prod/remind-me').locator('.expiring').count()).toBe(0);
    // Its reminder falls due now, as the database sees time; the sweeper sends it.
    await server.app.deps.db
      .update(actionRequests)
      .set({ remindAt: sql`now()` })
      .where(eq(actionRequests.id, id));
    await expect.poll(() => itemOf(page, 'prod/remind-me').locator('.countdown .expiring').textContent()).toBe('Expiring soon');
    expect(await itemOf(page, 'prod/remind-me').getAttribute('class')).toContain('expiring');
  });

  it('resumes after a dropped connection, showing reconnecting, and a request escalated meanwhile appears', async () => {
    const proxy: TcpProxy = await startTcpProxy(Number(new URL(server.url).port));
    try {
      const page = await inboxOf(ada, { url: proxy.url });
      proxy.refuse(true);
      proxy.cutAll();
      await expect.poll(() => page.locator('.feed').textContent()).toBe('Reconnecting…');
      await ask('deploy.update', 'prod/while-away');
      proxy.refuse(false);
      await itemOf(page, 'prod/while-away').waitFor();
      await expect.poll(() => page.locator('.feed').textContent()).toBe('Live');
      expect(proxy.connections()).toBeGreaterThan(1);
    } finally {
      await proxy.close();
    }
  });

  it('flags a zero-width character and a bidi override, showing both escaped', async () => {
    const page = await inboxOf(ada);
    await ask('deploy.update', 'prod/fidelity', { branch: 'main\u200b', note: 'abc\u202edcba' }, 'Looks harmless');
    const item = itemOf(page, 'prod/fidelity');
    await item.waitFor();
    const warning = await item.getByRole('note').first().textContent();
    expect(warning).toContain('1 invisible character');
    expect(warning).toContain('1 bidirectional control');
    const params = (await item.locator('.json').textContent())!;
    expect(params).toContain('"main⟨U+200B⟩"');
    expect(params).toContain('"abc⟨U+202E⟩dcba"');
    expect(params).not.toContain('\u202e');
    expect(params).not.toContain('\u200b');
    await expectAccessible(page);
  });

  it('marks look-alike letters, shows redactions as such, and tells a fake redaction marker from a real one', async () => {
    const page = await inboxOf(ada);
    // "pаyments" with a Cyrillic а: it reads as Latin.
    await ask('deploy.update', 'prod/p\u0430yments', { password: 'hunter2', token: `[redacted:hmac-sha256:${'A'.repeat(43)}]` });
    const item = page.locator('li.item').filter({ hasText: 'U+0430' });
    await item.waitFor();
    expect(await item.getByRole('note').first().textContent()).toContain('1 look-alike letter');
    expect(await item.locator('h2 mark.flag-lookalike').textContent()).toBe('а⟨U+0430⟩');
    const params = item.locator('.json');
    expect(await params.locator('.redacted').textContent()).toBe('redacted');
    expect(await params.textContent()).not.toContain('hunter2');
    expect(await params.textContent()).toContain('(not a redaction: the agent wrote this)');
  });
});

describe('keyboard', () => {
  it('moves between items, selects, comments and rejects without a mouse', async () => {
    const page = await inboxOf(alan);
    await ask('deploy.update', 'prod/keys-one');
    await itemOf(page, 'prod/keys-one').waitFor();
    expect(await page.locator('.shortcuts').textContent()).toContain('a approve');
    const index = await page
      .locator('li.item')
      .evaluateAll((items) => items.findIndex((item) => item.textContent!.includes('prod/keys-one')));
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    // The first j brings the focus to the first request, each next one moves down.
    for (let i = 0; i <= index; i++) await page.keyboard.press('j');
    await page.keyboard.press('x');
    await expect.poll(() => itemOf(page, 'prod/keys-one').locator('input.select').isChecked()).toBe(true);
    await page.keyboard.press('c');
    await page.keyboard.type('Wrong window');
    await page.keyboard.press('Escape');
    await page.keyboard.press('r');
    await itemOf(page, 'prod/keys-one').waitFor({ state: 'detached' });
    expect(await page.locator('.departed').textContent()).toContain('You rejected deploy.update on prod/keys-one');
  });
});

describe('standing approvals', () => {
  it('cover the next matching request (APPROVED, its review naming the standing approval), not another resource, and not after revocation', async () => {
    const page = await inboxOf(ada);
    await ask('deploy.update', 'prod/standing-1', { image: 'a' });
    const item = itemOf(page, 'prod/standing-1');
    await item.getByLabel('Also approve requests like this one for a while').check();
    expect(await item.locator('.scope').textContent()).toContain(
      'each new request by deploy-bot acting for nobody to deploy.update on exactly prod/standing-1 (no other resource), with any params, escalated only by rule deploys.',
    );
    await item.getByRole('button', { name: 'Approve and save standing approval' }).click();
    await item.waitFor({ state: 'detached' });

    const covered = await requestAction(server, agent.token, {
      action: 'deploy.update',
      resource: 'prod/standing-1',
      params: { image: 'b' },
    });
    const coveredId = covered.data.requestAction.request.id;
    expect(covered.data.requestAction.request.status).toBe('APPROVED');
    const reviews = await server.gql(
      ada.token,
      'query($id: ID!) { actionRequest(id: $id) { reviews { standingApprovalId reviewer { name } } } }',
      {
        id: coveredId,
      },
    );
    const [review] = reviews.data.actionRequest.reviews;
    expect(review.reviewer.name).toBe('Ada Lovelace');
    expect(review.standingApprovalId).toEqual(expect.any(String));

    const other = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/standing-2' });
    expect(other.data.requestAction.request.status).toBe('PENDING');

    await page.getByRole('link', { name: 'Standing approvals' }).click();
    const row = page.locator('tr').filter({ hasText: 'exactly prod/standing-1' });
    await row.waitFor();
    await expectAccessible(page);
    await screenshot(page, 'standing-approvals');
    await row.getByRole('button', { name: 'Revoke' }).click();
    expect(await row.getByRole('group').textContent()).toContain(
      'Revoke the standing approval for deploy.update by deploy-bot acting for nobody',
    );
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await row.getByRole('button', { name: 'Revoke' }).waitFor({ state: 'detached' });
    const after = await requestAction(server, agent.token, {
      action: 'deploy.update',
      resource: 'prod/standing-1',
      params: { image: 'c' },
    });
    expect(after.data.requestAction.request.status).toBe('PENDING');
    expect(review.standingApprovalId).toBeTruthy();
  });
});

describe('batch decisions', () => {
  it('approves a batch of three, one of which was decided elsewhere meanwhile: it drops out, the others are decided', async () => {
    const page = await inboxOf(ada);
    const ids = [
      await ask('deploy.update', 'prod/batch-a'),
      await ask('deploy.update', 'prod/batch-b'),
      await ask('deploy.update', 'prod/batch-c'),
    ];
    for (const resource of ['prod/batch-a', 'prod/batch-b', 'prod/batch-c']) await itemOf(page, resource).locator('input.select').check();
    await page.getByRole('button', { name: 'Approve selected (3)' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.locator('.batch-items li').count()).toBe(3);
    await dialog.getByLabel('Comment for every request in the batch').fill('Release train 42');

    expect(
      (await decideAction(server, alan.token, { requestId: ids[1], verdict: 'REJECT', comment: 'Not this one' })).data.decideAction.errors,
    ).toEqual([]);
    await expect.poll(() => dialog.getByRole('status').textContent()).toContain('1 selected request left the queue meanwhile');
    expect(await dialog.locator('.batch-items li').count()).toBe(2);
    await screenshot(page, 'inbox-batch');
    await dialog.getByRole('button', { name: 'Approve 2 requests' }).click();
    await expect.poll(() => dialog.locator('.batch-results li').count()).toBe(2);
    expect(await dialog.locator('.batch-results').textContent()).toContain('deploy.update on prod/batch-a: approved');
    expect(await dialog.locator('.batch-results').textContent()).toContain('deploy.update on prod/batch-c: approved');
    expect((await statusOf(ids[0]!)).status).toBe('APPROVED');
    expect((await statusOf(ids[1]!)).status).toBe('REJECTED');
    expect(await statusOf(ids[2]!)).toMatchObject({ status: 'APPROVED', decisionReason: 'Release train 42' });
  });
});

describe('layout and accessibility', () => {
  it('passes axe-core on the inbox and reads at phone width', async () => {
    await ask('deploy.scale', 'prod/phone', { replicas: 4, long: 'x'.repeat(500) });
    const page = await inboxOf(alan, { viewport: PHONE });
    const item = itemOf(page, 'prod/phone');
    await item.waitFor();
    expect(await item.getByRole('button', { name: 'Show all 500 characters' }).count()).toBe(1);
    await item.getByRole('button', { name: 'Show all 500 characters' }).click();
    expect(await item.locator('.json').textContent()).toContain('x'.repeat(500));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await expectAccessible(page);
    await screenshot(page, 'inbox-phone');
  });
});

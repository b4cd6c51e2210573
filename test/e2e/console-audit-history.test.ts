import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { duration } from '../../console/src/ui/time.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { launchBrowser } from '../support/browser.js';
import { expectAccessible, openConsole, PHONE, screenshot } from '../support/console.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { allSealed, createActor, decideAction, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

// The auditor's audit log and the decided-request history in a real Chromium, against a real
// server: every request, review and outcome is made through the public API, as agents and other
// reviewers would make them.

let server: TestServer;
let browser: Browser;
let agent: Actor;
let reviewer: Actor;
let auditor: Actor;
/** Approved by the reviewer with a comment and a standing approval, then reported SUCCEEDED. */
let approvedId: string;
/** Approved by that standing approval. */
let standingId: string;

const VERIFY = '{ verifyAuditLog { ok eventsChecked lastCheckpointSeq } }';

async function ask(action: string, resource: string): Promise<string> {
  const result = await requestAction(server, agent.token, { action, resource, reason: `needed for ${resource}` });
  expect(result.data.requestAction.errors).toEqual([]);
  return result.data.requestAction.request.id;
}

/** The types of the sealed events a filter selects, in the given order, as the API lists them. */
async function eventTypes(filter: Record<string, unknown>, orderBy: 'SEQ_ASC' | 'SEQ_DESC' = 'SEQ_DESC'): Promise<string[]> {
  const result = await server.gql(
    auditor.token,
    'query($filter: AuditEventFilter, $order: AuditEventOrder) { auditEvents(filter: $filter, first: 100, orderBy: $order) { edges { node { type } } } }',
    { filter, order: orderBy },
  );
  return result.data.auditEvents.edges.map((edge: { node: { type: string } }) => edge.node.type);
}

const rows = (page: Page) => page.locator('table.audit-table tbody tr');
const rowTypes = (page: Page) => page.locator('table.audit-table tbody td[data-label="Type"]').allTextContents();
const fact = (scope: Locator, term: string) => scope.locator('dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');

beforeAll(async () => {
  // A checkpoint every 5 sealed events: the view has one to show without waiting a minute.
  server = await startTestServer({ audit: { checkpointEvents: 5 } });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada Reviewer', roles: ['REVIEWER'], groups: ['sre'] });
  auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret Auditor', roles: ['AUDITOR'] });
  await publishPolicy(server, [
    { id: 'review', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['sre'] } },
  ]);

  approvedId = await ask('deploy.update', 'prod/api');
  const decided = await decideAction(server, reviewer.token, {
    requestId: approvedId,
    verdict: 'APPROVE',
    comment: 'Change window is open',
    standing: { resources: 'prod/*', forSeconds: 600 },
  });
  expect(decided.data.decideAction.errors).toEqual([]);
  const reported = await server.gql(
    agent.token,
    'mutation($input: ReportActionOutcomeInput!) { reportActionOutcome(input: $input) { errors { __typename } } }',
    { input: { requestId: approvedId, outcome: 'SUCCEEDED', detail: 'deployed v42' } },
  );
  expect(reported.data.reportActionOutcome.errors).toEqual([]);
  standingId = await ask('deploy.update', 'prod/web');
  await allSealed(server);
  await vi.waitFor(async () => expect((await server.gql(auditor.token, VERIFY)).data.verifyAuditLog.lastCheckpointSeq).toBeGreaterThan(0), {
    timeout: 10_000,
    interval: 20,
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the audit log view', () => {
  it('shows an auditor the log newest first, the chain verified and its last checkpoint, and verifies again on request', async () => {
    const before = (await server.gql(auditor.token, VERIFY)).data.verifyAuditLog;
    const page = await openConsole(browser, server.url, auditor.token, { view: 'audit' });
    const verification = page.getByRole('region', { name: 'Chain verification' });
    await expect.poll(() => verification.textContent()).toContain('Intact.');
    const checkpoint = Number(/seq (\d+)/.exec((await fact(verification, 'Last checkpoint').textContent()) ?? '')?.[1]);
    expect(checkpoint).toBeGreaterThanOrEqual(before.lastCheckpointSeq);
    const checked = Number(await fact(verification, 'Events checked').textContent());
    expect(checked).toBeGreaterThanOrEqual(before.eventsChecked);

    const newest = await eventTypes({});
    expect(newest.length).toBeGreaterThan(5);
    await expect.poll(() => rowTypes(page)).toEqual(newest.slice(0, 50));
    const firstRow = rows(page).first();
    expect(await firstRow.textContent()).toContain('deploy.update on prod/web');
    await firstRow.locator('summary').click();
    await expect.poll(() => firstRow.locator('pre.json').isVisible()).toBe(true);

    // More events, sealed: verifying again covers them.
    for (let i = 0; i < 3; i++) await ask('db.backup', `staging/verify-${i}`);
    await allSealed(server);
    await page.getByRole('button', { name: 'Verify again' }).click();
    await expect.poll(async () => Number(await fact(verification, 'Events checked').textContent())).toBeGreaterThan(checked);

    await expectAccessible(page);
    await screenshot(page, 'audit-log');
    await page.context().close();
  });

  it('filters by request, by event type, and shows a refused filter in place', async () => {
    const page = await openConsole(browser, server.url, auditor.token, { view: 'audit' });
    await expect.poll(() => rows(page).count()).toBeGreaterThan(5);

    await page.getByLabel('Request id').fill(approvedId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const expected = await eventTypes({ requestId: approvedId });
    expect(expected).toContain('OUTCOME_REPORTED');
    await expect.poll(() => rowTypes(page)).toEqual(expected);

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByText('Event types').click();
    await page.getByLabel('POLICY_PUBLISHED').check();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rowTypes(page)).toEqual(await eventTypes({ types: ['POLICY_PUBLISHED'] }));
    expect(await rowTypes(page)).toContain('POLICY_PUBLISHED');

    // A request id in a row narrows the log to that request.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Agent id').fill(agent.id);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rowTypes(page)).toContain('ACTION_REQUESTED');
    const standingRow = rows(page).filter({ hasText: 'prod/web' }).first();
    await standingRow.getByRole('button', { name: /Show only events of request/ }).click();
    await expect.poll(() => rowTypes(page)).toEqual(await eventTypes({ requestId: standingId }));
    expect(await page.getByLabel('Request id').inputValue()).toBe(standingId);

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Action', { exact: true }).fill('x'.repeat(300));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('The audit log could not be read');
    await page.context().close();
  });

  it('tails new events live at the top, and catches up after a pause', async () => {
    const page = await openConsole(browser, server.url, auditor.token, { view: 'audit' });
    await expect.poll(() => rows(page).count()).toBeGreaterThan(5);
    await expect.poll(() => page.locator('.audit-tail').textContent()).toContain('Live:');

    const live = await ask('db.backup', 'staging/live-1');
    await expect.poll(() => rows(page).first().textContent()).toContain('db.backup on staging/live-1');
    // Each of the request's events once: none missed, none repeated by the tail.
    await allSealed(server);
    const expected = await eventTypes({ requestId: live });
    await expect.poll(() => rows(page).filter({ hasText: 'staging/live-1' }).count()).toBe(expected.length);

    await page.getByRole('switch', { name: 'Live' }).uncheck();
    await expect.poll(() => page.locator('.audit-tail').textContent()).toContain('Paused');
    await ask('db.backup', 'staging/live-2');
    await page.getByRole('switch', { name: 'Live' }).check();
    await expect.poll(() => rows(page).first().textContent()).toContain('db.backup on staging/live-2');
    await page.context().close();
  });

  it('shows the tail reconnecting after a dropped connection, then resumes with what was committed meanwhile', async () => {
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    try {
      const page = await openConsole(browser, proxy.url, auditor.token, { view: 'audit' });
      await expect.poll(() => rows(page).count()).toBeGreaterThan(5);
      await expect.poll(() => page.locator('.audit-tail').textContent()).toContain('Live:');
      proxy.refuse(true);
      proxy.cutAll();
      await expect.poll(() => page.locator('.audit-tail').textContent()).toContain('Reconnecting…');
      await ask('db.backup', 'staging/while-away');
      proxy.refuse(false);
      await expect.poll(() => rows(page).first().textContent()).toContain('db.backup on staging/while-away');
      await expect.poll(() => page.locator('.audit-tail').textContent()).toContain('Live:');
      await page.context().close();
    } finally {
      await proxy.close();
    }
  });

  it('reads at phone width', async () => {
    const page = await openConsole(browser, server.url, auditor.token, { view: 'audit', viewport: PHONE });
    await expect.poll(() => rows(page).count()).toBeGreaterThan(5);
    await expect.poll(() => page.getByRole('region', { name: 'Chain verification' }).textContent()).toContain('Intact.');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, 'audit-log-phone');
    await page.context().close();
  });
});

describe('the history view', () => {
  it('shows an auditor a decided request: its decider, time to decision, outcome, reviews and audit trail', async () => {
    const request = (
      await server.gql(auditor.token, 'query($id: ID!) { actionRequest(id: $id) { createdAt decidedAt } }', { id: approvedId })
    ).data.actionRequest;
    const took = Date.parse(request.decidedAt) - Date.parse(request.createdAt);
    const page = await openConsole(browser, server.url, auditor.token, { view: 'history' });
    const item = page.getByRole('article', { name: 'deploy.update on prod/api' });
    await item.waitFor();
    expect(await item.locator('.history-status').textContent()).toBe('APPROVED');
    expect(await fact(item, 'Decided by').textContent()).toBe('Ada Reviewer (reviewer)');
    expect(await fact(item, 'Time to decision').textContent()).toContain(took < 1_000 ? 'at once' : duration(took));
    expect(await fact(item, 'Comment or reason').textContent()).toBe('Change window is open');
    expect(await fact(item, 'Execution outcome').textContent()).toMatch(/^SUCCEEDED reported .+deployed v42$/);
    expect(await item.locator('.history-reviews').textContent()).toContain('APPROVE by Ada Reviewer');

    const byStanding = page.getByRole('article', { name: 'deploy.update on prod/web' });
    expect(await byStanding.locator('.history-reviews').textContent()).toContain('Ada Reviewer by standing approval');
    expect(await fact(byStanding, 'Execution outcome').textContent()).toBe('Not reported yet');

    await item.getByRole('button', { name: 'Show audit trail' }).click();
    const trail = item.getByRole('region', { name: 'Audit trail' });
    await expect
      .poll(() => trail.locator('code.audit-type').allTextContents())
      .toEqual(await eventTypes({ requestId: approvedId }, 'SEQ_ASC'));

    await expectAccessible(page);
    await screenshot(page, 'history');
    await page.context().close();
  });

  it("filters by status, and gives a reviewer the request's own record as its trail", async () => {
    const rejected = await ask('deploy.rollback', 'staging/api');
    expect(
      (await decideAction(server, reviewer.token, { requestId: rejected, verdict: 'REJECT', comment: 'Not now' })).data.decideAction.errors,
    ).toEqual([]);

    const page = await openConsole(browser, server.url, reviewer.token, { view: 'history' });
    await page.getByRole('article', { name: 'deploy.update on prod/api' }).waitFor();
    await page.getByLabel('Status').selectOption('REJECTED');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => page.getByRole('article').count()).toBe(1);
    const item = page.getByRole('article', { name: 'deploy.rollback on staging/api' });
    expect(await fact(item, 'Comment or reason').textContent()).toBe('Not now');
    expect(await fact(item, 'Execution outcome').textContent()).toBe('None: the action was not approved');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    const approved = page.getByRole('article', { name: 'deploy.update on prod/api' });
    await approved.getByRole('button', { name: 'Show audit trail' }).click();
    const trail = approved.getByRole('region', { name: 'Audit trail' });
    await expect
      .poll(() => trail.locator('code.audit-type').allTextContents())
      .toEqual(['REQUESTED', 'REVIEW APPROVE', 'APPROVED', 'OUTCOME SUCCEEDED']);
    expect(await trail.textContent()).toContain('Change window is open');
    await page.context().close();
  });

  it('reads at phone width', async () => {
    const page = await openConsole(browser, server.url, auditor.token, { view: 'history', viewport: PHONE });
    const item = page.getByRole('article', { name: 'deploy.update on prod/api' });
    await item.getByRole('button', { name: 'Show audit trail' }).click();
    await item.getByRole('region', { name: 'Audit trail' }).locator('li').first().waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, 'history-phone');
    await page.context().close();
  });
});

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { launchBrowser } from '../support/browser.js';
import { expectAccessible, openConsole, PHONE, screenshot } from '../support/console.js';
import { createActor, publishPolicy } from '../support/fixtures.js';

let server: TestServer;
let browser: Browser;

const DEPLOYS = { id: 'staging-deploys', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'] };

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  // Two versions to compare: the second blocks what the first allowed.
  await publishPolicy(server, [DEPLOYS]);
  await publishPolicy(server, [{ ...DEPLOYS, effect: 'BLOCK' }]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const openAdmin = (options: { viewport?: { width: number; height: number } } = {}) =>
  openConsole(browser, server.url, ADMIN_TOKEN, { ...options, view: 'admin' });

/** Narrows the principal list to one name and opens that principal. */
async function selectPrincipal(page: Page, name: string) {
  await page.getByLabel('Name contains').fill(name);
  await page.getByRole('button', { name: 'Apply filter' }).click();
  await page.getByRole('button', { name, exact: true }).click();
  await page.getByRole('heading', { level: 2, name }).waitFor();
}

const principalNamed = async (name: string) => {
  const result = await server.gql(
    ADMIN_TOKEN,
    `query($name: String!) { principals(filter: { nameContains: $name }) { edges { node {
      id kind roles groups disabled disabledReason tokens { name revokedAt }
    } } } }`,
    { name },
  );
  return result.data.principals.edges[0]?.node;
};

const viewerOf = async (token: string) => (await server.gql(token, '{ viewer { name } }')).data?.viewer ?? null;

/** Waits for the page to catch up (a mutation, then a reload) on a loaded machine. */
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 10_000 }); // 10 seconds

/** Diff lines with their indentation folded, for comparing. */
const lines = (texts: string[]) => texts.map((text) => text.replace(/\s+/g, ' ').trim());

/** The row of a table holding `text`. */
const rowWith = (page: Page, text: string) => page.getByRole('row').filter({ hasText: text });

describe('the console admin view', () => {
  it('creates a principal, issues it a token shown once, revokes it, and disables and enables the principal', async () => {
    const page = await openAdmin();
    await page.getByLabel('Kind', { exact: true }).last().selectOption('HUMAN');
    await page.getByLabel('Name', { exact: true }).fill('Grace Hopper');
    await page.getByLabel('Groups (comma-separated)', { exact: true }).last().fill('sre, compilers');
    await page.getByRole('button', { name: 'Create principal' }).click();

    const firstSecret = await page.getByLabel(/^Secret of Grace Hopper/).inputValue();
    expect(firstSecret).toMatch(/^gl_/);
    expect(await viewerOf(firstSecret)).toEqual({ name: 'Grace Hopper' });
    expect(await principalNamed('Grace Hopper')).toMatchObject({ kind: 'HUMAN', roles: ['REVIEWER'], groups: ['sre', 'compilers'] });
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.getByLabel(/^Secret of/).count()).toBe(0);

    // The new principal is open: a refused token name is explained next to the form.
    await page.getByRole('heading', { level: 2, name: 'Grace Hopper' }).waitFor();
    await page.getByLabel('Token name').fill('has spaces!');
    await page.getByRole('button', { name: 'Issue token' }).click();
    await eventually(() => page.getByRole('alert').textContent()).toContain('The token was not issued');
    expect(await page.getByRole('alert').textContent()).toContain('Invalid input');

    await page.getByLabel('Token name').fill('laptop');
    await page.getByRole('button', { name: 'Issue token' }).click();
    const secret = page.getByLabel('Secret of the token laptop of Grace Hopper');
    const laptopSecret = await secret.inputValue();
    expect(await page.locator('.secret-once').textContent()).toContain('you will not see it again');
    expect(await viewerOf(laptopSecret)).toEqual({ name: 'Grace Hopper' });
    expect(await page.getByRole('alert').count()).toBe(0);

    await rowWith(page, 'laptop').getByRole('button', { name: 'Revoke' }).click();
    await rowWith(page, 'laptop').getByRole('button', { name: 'Yes, revoke' }).click();
    await eventually(() => rowWith(page, 'laptop').textContent()).toContain('Revoked');
    expect(await viewerOf(laptopSecret)).toBeNull();
    expect(await viewerOf(firstSecret)).toEqual({ name: 'Grace Hopper' });
    expect((await principalNamed('Grace Hopper')).tokens).toEqual([
      { name: 'default', revokedAt: null },
      { name: 'laptop', revokedAt: expect.any(String) },
    ]);

    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByLabel('Reason (for the audit log)').fill('left the team');
    await page.getByRole('button', { name: 'Yes, disable' }).click();
    await eventually(() => page.getByRole('region', { name: 'Grace Hopper' }).textContent()).toContain('None of its tokens works');
    expect(await principalNamed('Grace Hopper')).toMatchObject({ disabled: true, disabledReason: 'left the team' });
    expect(await viewerOf(firstSecret)).toBeNull();
    await eventually(() => rowWith(page, 'Grace Hopper').first().textContent()).toContain('Disabled: left the team');

    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Yes, enable' }).click();
    await eventually(() => page.getByRole('region', { name: 'Grace Hopper' }).textContent()).toContain('Enabled: its live tokens work');
    expect(await principalNamed('Grace Hopper')).toMatchObject({ disabled: false });
    expect(await viewerOf(firstSecret)).toEqual({ name: 'Grace Hopper' });

    // Roles and groups: the complete new lists.
    await page.getByRole('checkbox', { name: 'AUDITOR' }).first().check();
    await page.getByLabel('Groups (comma-separated)', { exact: true }).first().fill('sre');
    await page.getByRole('button', { name: 'Save roles and groups' }).click();
    await eventually(async () => (await principalNamed('Grace Hopper')).roles).toEqual(['AUDITOR', 'REVIEWER']);
    expect((await principalNamed('Grace Hopper')).groups).toEqual(['sre']);
    await page.context().close();
  });

  it("ends a principal's console session when an admin revokes its token", async () => {
    const victim = await createActor(server, { kind: 'HUMAN', name: 'Revoked Reviewer', roles: ['REVIEWER'], groups: ['sre'] });
    // Its console opens the inbox, which follows the queue over a WebSocket.
    const victimPage = await openConsole(browser, server.url, victim.token);
    const page = await openAdmin();
    await selectPrincipal(page, 'Revoked Reviewer');
    await rowWith(page, 'default').getByRole('button', { name: 'Revoke' }).click();
    await rowWith(page, 'default').getByRole('button', { name: 'Yes, revoke' }).click();
    await eventually(() => rowWith(page, 'default').textContent()).toContain('Revoked');

    await eventually(() => victimPage.getByRole('status').textContent()).toContain('Your session ended');
    expect(await victimPage.getByLabel('Token').count()).toBe(1);
    await victimPage.context().close();
    await page.context().close();
  });

  it('grants a delegation and revokes it', async () => {
    const human = await createActor(server, { kind: 'HUMAN', name: 'Dana Delegator', roles: ['REVIEWER'] });
    await createActor(server, { kind: 'AGENT', name: 'helper-bot', roles: ['AGENT'] });
    const delegations = async () =>
      (
        await server.gql(ADMIN_TOKEN, 'query($id: ID!) { principal(id: $id) { delegations { actions revokedAt agent { name } } } }', {
          id: human.id,
        })
      ).data.principal.delegations;

    const page = await openAdmin();
    await page.getByRole('tab', { name: 'Delegations' }).click();
    await page.getByLabel('Human', { exact: true }).selectOption({ label: 'Dana Delegator' });
    await page.getByLabel('Agent', { exact: true }).selectOption({ label: 'helper-bot' });
    await page.getByLabel('Actions (comma-separated globs)').fill('deploy.*, db.read');
    await page.getByRole('button', { name: 'Grant delegation' }).click();
    await eventually(() => rowWith(page, 'helper-bot').textContent()).toContain('deploy.*, db.read');
    expect(await delegations()).toEqual([{ actions: ['deploy.*', 'db.read'], revokedAt: null, agent: { name: 'helper-bot' } }]);

    await rowWith(page, 'helper-bot').getByRole('button', { name: 'Revoke' }).click();
    await rowWith(page, 'helper-bot').getByRole('button', { name: 'Yes, revoke' }).click();
    await eventually(() => rowWith(page, 'helper-bot').count()).toBe(0);
    expect((await delegations())[0].revokedAt).toEqual(expect.any(String));
    await page.getByLabel('Show revoked and expired delegations').check();
    expect(await rowWith(page, 'helper-bot').textContent()).toContain('Revoked');
    await page.context().close();
  });

  it('diffs two policy versions and activates the older one', async () => {
    const page = await openAdmin();
    await page.getByRole('tab', { name: 'Policy versions' }).click();
    await eventually(() => page.getByRole('region', { name: 'Policy versions' }).textContent()).toContain('Version 2 is active');

    const forward = page.getByRole('region', { name: 'Changes from version 1 to version 2' });
    await eventually(async () => lines(await forward.locator('del').allTextContents())).toEqual(['− "effect": "ALLOW",']);
    expect(lines(await forward.locator('ins').allTextContents())).toEqual(['+ "effect": "BLOCK",']);
    expect(await page.getByRole('region', { name: 'Compare two versions' }).textContent()).toContain('1 line removed (−), 1 added (+).');

    await page.getByLabel('From version', { exact: true }).selectOption('2');
    await page.getByLabel('To version', { exact: true }).selectOption('1');
    const backward = page.getByRole('region', { name: 'Changes from version 2 to version 1' });
    await eventually(async () => lines(await backward.locator('del').allTextContents())).toEqual(['− "effect": "BLOCK",']);

    await rowWith(page, 'v1').getByRole('button', { name: 'Activate v1' }).click();
    await page.getByLabel('Reason (for the audit log)').fill('v2 blocked every deploy');
    await page.getByRole('button', { name: 'Yes, activate v1' }).click();
    await eventually(() => page.getByRole('region', { name: 'Policy versions' }).textContent()).toContain('Version 1 is active');
    expect((await server.gql(ADMIN_TOKEN, '{ activePolicy { version } }')).data.activePolicy).toEqual({ version: 1 });
    await page.context().close();
  });

  // One test per page: each stays well inside the test timeout on a loaded machine.
  it('passes axe-core on the principals and delegations sections at laptop width', async () => {
    await createActor(server, { kind: 'AGENT', name: 'axe-bot', roles: ['AGENT'], groups: ['deployers'], labels: { team: 'payments' } });
    const page = await openAdmin();
    await selectPrincipal(page, 'axe-bot');
    await expectAccessible(page);
    await screenshot(page, 'admin-principals');

    await page.getByRole('tab', { name: 'Delegations' }).click();
    await page.getByRole('button', { name: 'Grant delegation' }).waitFor();
    await expectAccessible(page);
    await page.context().close();
  });

  it('passes axe-core on the policy versions section at laptop width', async () => {
    const page = await openAdmin();
    await page.getByRole('tab', { name: 'Policy versions' }).click();
    await page.getByRole('region', { name: /^Changes from version/ }).waitFor();
    await expectAccessible(page);
    await screenshot(page, 'admin-policies');
    await page.context().close();
  });

  it('passes axe-core on a phone, and never scrolls sideways', async () => {
    await createActor(server, { kind: 'AGENT', name: 'phone-bot', roles: ['AGENT'], groups: ['deployers'] });
    const phone = await openAdmin({ viewport: PHONE });
    await selectPrincipal(phone, 'phone-bot');
    await expectAccessible(phone);
    // Nothing wider than the screen: the page never scrolls sideways.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await screenshot(phone, 'admin-phone');
    await phone.context().close();
  });
});

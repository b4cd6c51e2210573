import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { launchBrowser } from '../support/browser.js';
import { createActor, type Actor } from '../support/fixtures.js';

const require = createRequire(import.meta.url);

let server: TestServer;
let browser: Browser;
let reviewer: Actor;

beforeAll(async () => {
  server = await startTestServer();
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada Lovelace', roles: ['REVIEWER', 'AUDITOR'], groups: ['sre'] });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh page, recording every request it makes. */
async function open(options: { bypassCSP?: boolean } = {}): Promise<{ page: Page; requested: string[] }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(`${server.url}/console/`);
  return { page, requested };
}

async function signIn(page: Page, token: string) {
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('the console at /console', () => {
  it('is served by the API server, with a policy that lets the page reach nothing else', async () => {
    const bare = await fetch(`${server.url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
    const page = await fetch(`${server.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(await page.text()).toContain('<div id="app">');
    expect((await fetch(`${server.url}/console/assets/missing.js`)).status).toBe(404);
    // A path climbing out of the console's folder gets the console's page, never the file.
    const climbing = await fetch(`${server.url}/console/..%2f..%2fpackage.json`);
    expect(climbing.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await climbing.text()).not.toContain('"dependencies"');
  });

  it('signs in with a token, keeps the session for the tab, and signs out', async () => {
    const { page, requested } = await open();
    await signIn(page, 'not-a-token-of-this-server');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('This token was refused');

    await signIn(page, reviewer.token);
    await expect.poll(() => page.locator('header').textContent()).toContain('Signed in as Ada Lovelace');
    expect(await page.locator('header').textContent()).toContain('REVIEWER, AUDITOR');
    expect(await page.evaluate(() => sessionStorage.getItem('greenlight.token'))).toBe(reviewer.token);

    await page.reload();
    await expect.poll(() => page.locator('header').textContent()).toContain('Signed in as Ada Lovelace');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByLabel('Token').count()).toBe(1);
    expect(await page.evaluate(() => sessionStorage.getItem('greenlight.token'))).toBeNull();

    const origin = new URL(server.url).origin;
    expect(requested.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    await page.context().close();
  });

  it('ends a session at once when its token is revoked, saying why, and refuses the token on the next visit', async () => {
    const issued = await server.gql(
      ADMIN_TOKEN,
      'mutation($id: ID!) { issueToken(input: { principalId: $id, name: "console-test" }) { token { id } secret errors { __typename } } }',
      { id: reviewer.id },
    );
    const { id: tokenId } = issued.data.issueToken.token;
    const secret = issued.data.issueToken.secret;
    const { page } = await open();
    await signIn(page, secret);
    // The inbox follows the queue over a WebSocket: the server closes it when the token is revoked.
    await expect.poll(() => page.locator('.feed').textContent()).toBe('Live');
    await server.gql(ADMIN_TOKEN, 'mutation($id: ID!) { revokeToken(input: { tokenId: $id }) { errors { __typename } } }', { id: tokenId });
    await expect.poll(() => page.getByRole('status').textContent()).toContain('Your session ended');
    expect(await page.getByLabel('Token').count()).toBe(1);
    expect(await page.evaluate(() => sessionStorage.getItem('greenlight.token'))).toBeNull();

    // A tab that kept the revoked token is told so on its next load.
    await page.evaluate((token) => sessionStorage.setItem('greenlight.token', token), secret);
    await page.reload();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('This token was refused');
    await page.context().close();
  });

  it('passes axe-core with no serious or critical violation on the sign-in page', async () => {
    const { page } = await open({ bypassCSP: true });
    await page.getByLabel('Token').waitFor();
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string }[] }> } }).axe.run();
      return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact }));
    });
    expect(violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')).toEqual([]);
    await page.context().close();
  });
});

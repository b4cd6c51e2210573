import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);

/** Where console screenshots are kept as test artifacts (CI keeps `.test-results/`). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../.test-results/console', import.meta.url));

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * A fresh browser context on the console, signed in with `token`. CSP is bypassed only so that
 * axe-core can be injected; the console's own requests are the same either way.
 */
export async function openConsole(
  browser: Browser,
  baseUrl: string,
  token: string,
  options: { viewport?: { width: number; height: number }; view?: string } = {},
): Promise<Page> {
  const context = await browser.newContext({ bypassCSP: true, viewport: options.viewport ?? LAPTOP });
  // An action that waits this long fails with the locator it waited for, before the test's own
  // timeout would end it without saying which wait hung.
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  await page.goto(`${baseUrl}/console/${options.view ? `#${options.view}` : ''}`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/**
 * Runs axe-core on the page as it is and expects no serious or critical violation. Only violations
 * are worked out in full (`resultTypes`): axe then skips the node details of passes and incomplete
 * checks, which made each run take seconds on a loaded machine.
 */
export async function expectAccessible(page: Page): Promise<void> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    type Violation = { id: string; impact: string; nodes: { target: unknown }[] };
    const { axe } = window as unknown as { axe: { run(options: object): Promise<{ violations: Violation[] }> } };
    const result = await axe.run({ resultTypes: ['violations'] });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      targets: violation.nodes.map((node) => JSON.stringify(node.target)).slice(0, 3),
    }));
  });
  expect(violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')).toEqual([]);
}

/** Saves a full-page screenshot as `.test-results/console/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}

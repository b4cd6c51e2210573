import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, requestAction } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** Runs `npm run cli -- …` as a process; resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

// Each case starts a TypeScript process; on a busy two-core machine that takes seconds.
const CLI_TIMEOUT = 120_000; // 2 minutes

describe('npm run cli -- policy', { timeout: CLI_TIMEOUT }, () => {
  let dir: string;
  let server: TestServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-'));
    server = await startTestServer();
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });

  it('passes the example policy tests that ship in the repo', async () => {
    const result = await cli(['policy', 'test', 'policies/example.test.yaml']);
    expect(result.stdout).toContain('12 passed, 0 failed');
    expect(result.code).toBe(0);
  });

  it('fails a test run with a wrong expectation, showing what differed', async () => {
    writeFileSync(
      join(dir, 'wrong.test.yaml'),
      `policy: ${join(ROOT, 'policies/example.yaml')}\ncases:\n  - name: staging is blocked?\n    request: { action: deploy.update, resource: staging/api }\n    expect: { effect: BLOCK }\n`,
    );
    const result = await cli(['policy', 'test', join(dir, 'wrong.test.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('effect: expected BLOCK, got ALLOW');
    expect(result.stdout).toContain('0 passed, 1 failed');
  });

  it('refuses an invalid policy file, naming each rule and field, unknown fields included', async () => {
    writeFileSync(join(dir, 'bad.yaml'), `rules:\n  - id: r1\n    efect: ALLOW\n    effect: ALLOW\n    actions: ["deploy.["]\n    resources: ["**"]\n`);
    const result = await cli(['policy', 'validate', join(dir, 'bad.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rule r1: .*efect/);
    expect(result.stderr).toMatch(/rule r1: actions\[0\]/);
    const good = await cli(['policy', 'validate', 'policies/example.yaml']);
    expect(good).toMatchObject({ code: 0, stdout: expect.stringContaining('7 rules, default ESCALATE') });
  });

  it('publishes a policy file to a running server and replays a draft against its history', async () => {
    const env = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: ADMIN_TOKEN };
    const published = await cli(['policy', 'publish', 'policies/example.yaml', '--message', 'from the CLI', '--expected-version', '0'], env);
    expect(published).toMatchObject({ code: 0, stdout: expect.stringContaining('published version 1') });
    const stale = await cli(['policy', 'publish', 'policies/example.yaml', '--expected-version', '0'], env);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('ConflictError');

    const agent = await createActor(server, { kind: 'AGENT', name: 'bot', roles: ['AGENT'] });
    await requestAction(server, agent.token, { action: 'cache.flush', resource: 'prod/cdn' });
    writeFileSync(join(dir, 'draft.yaml'), `defaultEffect: ALLOW\nrules: []\n`);
    const replay = await cli(['policy', 'replay', join(dir, 'draft.yaml')], env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('replayed 1 requests: 1 decisions change');
    expect(replay.stdout).toContain('ESCALATE → ALLOW: 1');

    const noToken = await cli(['policy', 'publish', 'policies/example.yaml'], { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: '' });
    expect(noToken).toMatchObject({ code: 2, stderr: expect.stringContaining('GREENLIGHT_TOKEN') });
  });
});

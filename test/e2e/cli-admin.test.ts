import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, publishPolicy, requestAction } from '../support/fixtures.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// The `greenlight` command (the package's bin) against a real server: principals, tokens,
// delegations, webhooks and a policy diff, each as text and as --json, with its exit codes.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

let server: TestServer;
let receiver: WebhookReceiver;
let dir: string;

/** Runs `greenlight …` (bin/greenlight.mjs) as a process against the test server. */
async function greenlight(args: string[], token: string = ADMIN_TOKEN) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/greenlight.mjs', ...args], {
      cwd: ROOT,
      env: { ...process.env, GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: token },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Runs a command with --json and parses what it printed. */
async function json<T = any>(args: string[], token?: string): Promise<T> {
  const result = await greenlight([...args, '--json'], token);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const RULES = [{ id: 'deploys', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['ops'] } }];

beforeAll(async () => {
  server = await startTestServer({ webhooks: { allowPrivate: true, retryBaseMs: 50, intervalMs: 50 } });
  receiver = await startWebhookReceiver();
  dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-admin-'));
  await publishPolicy(server, RULES, 'ALLOW');
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await server?.stop();
  await receiver?.close();
});

describe('greenlight', { timeout: 180_000 }, () => {
  it('manages principals and their tokens, as text and as JSON', async () => {
    const created = await json(['principal', 'create', '--kind', 'agent', '--name', 'cli-bot', '--role', 'AGENT', '--label', 'team=infra']);
    expect(created.errors).toEqual([]);
    expect(created.principal).toMatchObject({ kind: 'AGENT', name: 'cli-bot', roles: ['AGENT'], labels: { team: 'infra' } });
    expect(created.token).toMatch(/^gl_/);
    const id: string = created.principal.id;

    const human = await greenlight(['principal', 'create', '--kind', 'HUMAN', '--name', 'Cli Reviewer', '--role', 'REVIEWER,AUDITOR']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/✓ created [0-9a-f-]{36} {2}HUMAN {2}Cli Reviewer {2}roles: REVIEWER,AUDITOR/);
    expect(human.stdout).toMatch(/token \(shown once\): gl_/);

    const listed = await json<{ id: string }[]>(['principal', 'list', '--kind', 'agent', '--name-contains', 'cli-']);
    expect(listed.map((p) => p.id)).toEqual([id]);
    const updated = await json(['principal', 'update', id, '--group', 'ops', '--group', 'db']);
    expect(updated.principal.groups).toEqual(['ops', 'db']);

    const issued = await json(['token', 'issue', '--principal', id, '--name', 'second']);
    expect(issued.secret).toMatch(/^gl_/);
    const tokens = await json<{ id: string; name: string; revokedAt: string | null }[]>(['token', 'list', '--principal', id]);
    expect(tokens.map((t) => t.name)).toContain('second');
    expect(tokens).toHaveLength(2);
    const revoked = await greenlight(['token', 'revoke', issued.token.id]);
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`✓ revoked token ${issued.token.id}`) });
    // The agent's own token lists its own tokens, without --principal.
    const own = await json<{ revokedAt: string | null }[]>(['token', 'list'], created.token);
    expect(own.filter((t) => t.revokedAt !== null)).toHaveLength(1);

    const disabled = await json(['principal', 'disable', id, '--reason', 'retired']);
    expect(disabled.principal.disabled).toBe(true);
    const refused = await greenlight(['token', 'list'], created.token);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('does not accept GREENLIGHT_TOKEN') });
  });

  it('grants and revokes a delegation', async () => {
    const agent = await createActor(server, { kind: 'AGENT', name: 'delegate-bot', roles: ['AGENT'] });
    const human = await createActor(server, { kind: 'HUMAN', name: 'Della', roles: ['REVIEWER'] });
    const granted = await json(['delegation', 'grant', '--agent', agent.id, '--human', human.id, '--action', 'deploy.*']);
    expect(granted.delegation).toMatchObject({ actions: ['deploy.*'], agent: { id: agent.id }, human: { id: human.id } });
    const revoked = await greenlight(['delegation', 'revoke', granted.delegation.id]);
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`✓ revoked delegation ${granted.delegation.id}`) });
  });

  it('creates a webhook, lists it and its deliveries, and redelivers one', async () => {
    const created = await json([
      'webhook',
      'create',
      '--url',
      receiver.url,
      '--event',
      'action.requested',
      '--description',
      'from the CLI',
    ]);
    expect(created.secret).toMatch(/^whsec_/);
    receiver.secrets = [created.secret];
    const id: string = created.webhook.id;
    const listed = await greenlight(['webhook', 'list']);
    expect(listed.stdout).toContain(id);

    const agent = await createActor(server, { kind: 'AGENT', name: 'hook-cli-bot', roles: ['AGENT'] });
    await requestAction(server, agent.token, { action: 'read.logs', resource: 'prod/cli' });
    await receiver.until((received) => received.length === 1);
    await expect
      .poll(async () => (await json<{ status: string }[]>(['webhook', 'deliveries', id])).map((d) => d.status), { timeout: 30_000 })
      .toEqual(['DELIVERED']);
    const [delivery] = await json<{ id: string; eventType: string; attempts: { statusCode: number }[] }[]>(['webhook', 'deliveries', id]);
    expect(delivery).toMatchObject({ eventType: 'action.requested', attempts: [{ statusCode: 204 }] });
    const table = await greenlight(['webhook', 'deliveries', id, '--status', 'delivered']);
    expect(table.stdout).toMatch(/action\.requested\s+\d+\s+DELIVERED\s+1\s+204 in \d+ ms/);

    const again = await greenlight(['webhook', 'redeliver', delivery!.id]);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining(`✓ delivery ${delivery!.id}`) });
    await receiver.until((received) => received.length === 2);
  });

  it('compares a policy file with the active version, rule by rule (exit 1 when they differ)', async () => {
    const same = join(dir, 'same.json');
    writeFileSync(same, JSON.stringify({ defaultEffect: 'ALLOW', rules: RULES }));
    const unchanged = await greenlight(['policy', 'diff', same]);
    expect(unchanged).toMatchObject({ code: 0, stdout: expect.stringContaining('publishes the same policy as version') });

    const changed = join(dir, 'changed.json');
    const rules = [
      { id: 'deploys', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['ops', 'sre'], remindAt: 0.5 } },
      { id: 'drops', effect: 'BLOCK', actions: ['db.drop'], resources: ['**'] },
    ];
    writeFileSync(changed, JSON.stringify({ defaultEffect: 'ESCALATE', rules }));
    const text = await greenlight(['policy', 'diff', changed]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('~ defaultEffect: ALLOW → ESCALATE');
    expect(text.stdout).toContain('+ rule drops');
    expect(text.stdout).toContain('~ rule deploys');
    const result = await greenlight(['policy', 'diff', changed, '--json']);
    expect(result.code).toBe(1);
    const diff = JSON.parse(result.stdout);
    expect(diff).toMatchObject({ changed: true, addedRules: ['drops'], removedRules: [] });
    expect(Object.keys(diff.changedRules[0].fields).sort()).toEqual(['review']);
    expect(diff.changedRules[0].fields.review.to).toMatchObject({ groups: ['ops', 'sre'], remindAt: 0.5 });
  });

  it('refuses what it cannot do: usage errors exit 2, refused mutations exit 1, and every area has help', async () => {
    const missing = await greenlight(['principal', 'create', '--kind', 'AGENT', '--role', 'AGENT']);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('--name is required') });
    const unknown = await greenlight(['principal', 'delete', 'x']);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command "principal delete"') });
    const extra = await greenlight(['webhook', 'list', 'extra']);
    expect(extra).toMatchObject({ code: 2, stderr: expect.stringContaining('takes no arguments') });
    const badRole = await greenlight(['principal', 'create', '--kind', 'AGENT', '--name', 'x', '--role', 'KING']);
    expect(badRole.code).not.toBe(0);
    const agent = await createActor(server, { kind: 'AGENT', name: 'nosy-bot', roles: ['AGENT'] });
    const forbidden = await greenlight(['principal', 'list'], agent.token);
    expect(forbidden).toMatchObject({ code: 1, stderr: expect.stringContaining('✗ refused') });
    const serveWithArgs = await greenlight(['serve', '--port', '5000']);
    expect(serveWithArgs).toMatchObject({ code: 2, stderr: expect.stringContaining('takes no arguments') });
    const notFound = await greenlight(['token', 'revoke', '00000000-0000-4000-8000-000000000000']);
    expect(notFound).toMatchObject({ code: 1, stderr: expect.stringContaining('NotFoundError') });

    const help = await greenlight(['--help']);
    expect(help.code).toBe(0);
    for (const command of [
      'serve',
      'principal create',
      'principal list',
      'principal update',
      'principal disable',
      'token issue',
      'token list',
      'token revoke',
      'delegation grant',
      'delegation revoke',
      'policy validate',
      'policy test',
      'policy publish',
      'policy replay',
      'policy diff',
      'audit verify',
      'audit export',
      'webhook create',
      'webhook list',
      'webhook deliveries',
      'webhook redeliver',
    ]) {
      expect(help.stdout).toContain(`  ${command}`);
    }
    const one = await greenlight(['webhook', 'deliveries', '--help']);
    expect(one).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: greenlight webhook deliveries WEBHOOK_ID') });
  });

  it('prints --json for the policy and audit commands too', async () => {
    const file = join(dir, 'valid.json');
    writeFileSync(file, JSON.stringify({ defaultEffect: 'ALLOW', rules: RULES }));
    expect(await json(['policy', 'validate', file])).toMatchObject({ ok: true, rules: 1, defaultEffect: 'ALLOW', issues: [] });
    const broken = join(dir, 'broken.json');
    writeFileSync(
      broken,
      JSON.stringify({ defaultEffect: 'ALLOW', rules: [{ id: 'x', effect: 'MAYBE', actions: ['*'], resources: ['**'] }] }),
    );
    const invalid = await greenlight(['policy', 'validate', broken, '--json']);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toMatchObject({ ok: false, issues: [{ ruleId: 'x', field: 'effect' }] });
    expect(await json(['audit', 'verify'])).toMatchObject({ ok: true, firstBrokenSeq: null });
  });

  it('serves: `greenlight serve` starts the server, which answers and stops on SIGTERM', async () => {
    const inherited = { ...process.env };
    for (const name of ['DATABASE_URL', 'DATA_DIR', 'ADMIN_TOKEN', 'PORT', 'HOST']) delete inherited[name];
    const child = spawn(process.execPath, ['bin/greenlight.mjs', 'serve'], {
      cwd: ROOT,
      env: { ...inherited, PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'memory://', ADMIN_TOKEN, LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const ready = /ready at (http:\/\/[^\s"]+)\/graphql/.exec(line);
        if (ready) resolve(ready[1]!);
      });
      void exited.then((code) => reject(new Error(`exited with ${String(code)} before ready`)));
    });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('runs as `npx greenlight` in the checkout', async () => {
    const { stdout } = await run('npx', ['--no-install', 'greenlight', 'token', '--help'], { cwd: ROOT });
    expect(stdout).toContain('token issue');
  });
});

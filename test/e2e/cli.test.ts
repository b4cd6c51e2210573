import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, requestAction } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** Runs `npm run cli -- …` as a process; resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
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
    writeFileSync(
      join(dir, 'bad.yaml'),
      `rules:\n  - id: r1\n    efect: ALLOW\n    effect: ALLOW\n    actions: ["deploy.["]\n    resources: ["**"]\n`,
    );
    const result = await cli(['policy', 'validate', join(dir, 'bad.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rule r1: .*efect/);
    expect(result.stderr).toMatch(/rule r1: actions\[0\]/);
    const good = await cli(['policy', 'validate', 'policies/example.yaml']);
    expect(good).toMatchObject({ code: 0, stdout: expect.stringContaining('7 rules, default ESCALATE') });
  });

  it('publishes a policy file to a running server and replays a draft against its history', async () => {
    const env = { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: ADMIN_TOKEN };
    const published = await cli(
      ['policy', 'publish', 'policies/example.yaml', '--message', 'from the CLI', '--expected-version', '0'],
      env,
    );
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

describe('npm run cli -- audit verify', { timeout: CLI_TIMEOUT }, () => {
  const VERIFY = '{ verifyAuditLog { ok lastSeq unsealedEvents } }';

  /**
   * A fresh server whose sealer has sealed at least `minSeq` events (checkpoints are signed once 3
   * events were sealed since the last one, so there is at least one), and the CLI's environment.
   */
  async function serverWithSealedLog(minSeq: number) {
    const server = await startTestServer({ audit: { sealIntervalMs: 50, checkpointEvents: 3 } });
    for (let i = 0; i < minSeq; i++) await createActor(server, { kind: 'AGENT', name: `bot-${i}`, roles: ['AGENT'] });
    await vi.waitFor(
      async () => {
        const { data } = await server.gql(ADMIN_TOKEN, VERIFY);
        expect(data.verifyAuditLog).toMatchObject({ ok: true, unsealedEvents: 0 });
        expect(data.verifyAuditLog.lastSeq).toBeGreaterThanOrEqual(minSeq);
      },
      { timeout: 10_000, interval: 50 },
    );
    return { server, env: { GREENLIGHT_URL: server.url, GREENLIGHT_TOKEN: ADMIN_TOKEN } };
  }

  it('reports an intact log and exits 0, for an auditor too', async () => {
    const { server, env } = await serverWithSealedLog(4);
    try {
      const auditor = await createActor(server, { kind: 'HUMAN', name: 'Margaret', roles: ['AUDITOR'] });
      const { kid } = (await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).json()) as { kid: string };
      const result = await cli(['audit', 'verify'], { ...env, GREENLIGHT_TOKEN: auditor.token });
      expect(result.stdout).toMatch(/✓ audit log ok: seq 1 to \d+, \d+ events and \d+ checkpoints? checked/);
      expect(result.stdout).toMatch(/last checkpoint: seq \d+/);
      expect(result.stdout).toMatch(/unsealed events: \d+/);
      expect(result.stdout).toContain(`key id: ${kid}`);
      expect(result.code).toBe(0);

      const range = await cli(['audit', 'verify', '--from', '2', '--to', '3'], env);
      expect(range).toMatchObject({ code: 0, stdout: expect.stringContaining('✓ audit log ok: seq 2 to 3, 2 events and') });

      const agent = await createActor(server, { kind: 'AGENT', name: 'not-an-auditor', roles: ['AGENT'] });
      const denied = await cli(['audit', 'verify'], { ...env, GREENLIGHT_TOKEN: agent.token });
      // Refused by the server: exit 1 (2 is for usage and connection problems).
      expect(denied).toMatchObject({ code: 1, stderr: expect.stringContaining('Not allowed') });
    } finally {
      await server.stop();
    }
  });

  it('names the first broken seq and exits 1 after a superuser edits a sealed event', async () => {
    const { server, env } = await serverWithSealedLog(4);
    try {
      // As a database superuser would: with replication role "replica" the append-only trigger does not fire.
      await server.app.deps.db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL session_replication_role = replica`);
        await tx.execute(sql`UPDATE audit_events SET data = jsonb_set(data, '{name}', '"mallory"') WHERE seq = 2`);
      });
      const result = await cli(['audit', 'verify'], env);
      expect(result.stdout).toContain('✗ audit log broken at seq 2: MODIFIED');
      expect(result.stdout).toContain('The content of seq 2 does not match its hash.');
      expect(result.stdout).toContain('1 event and 0 checkpoints checked before the break');
      expect(result.code).toBe(1);

      // A range after the edit trusts the stored hash before it, so it still verifies.
      const after = await cli(['audit', 'verify', '--from', '3'], env);
      expect(after).toMatchObject({ code: 0, stdout: expect.stringContaining('✓ audit log ok: seq 3 to') });
    } finally {
      await server.stop();
    }
  });

  it('refuses bad options and a missing token with usage errors (exit 2), before calling any server', async () => {
    const env = { GREENLIGHT_URL: 'http://127.0.0.1:9', GREENLIGHT_TOKEN: ADMIN_TOKEN };
    const notANumber = await cli(['audit', 'verify', '--from', 'abc'], env);
    expect(notANumber).toMatchObject({ code: 2, stderr: expect.stringContaining('--from must be a positive whole number') });
    const zero = await cli(['audit', 'verify', '--to', '0'], env);
    expect(zero).toMatchObject({ code: 2, stderr: expect.stringContaining('--to must be a positive whole number') });
    const backwards = await cli(['audit', 'verify', '--from', '5', '--to', '3'], env);
    expect(backwards).toMatchObject({ code: 2, stderr: expect.stringContaining('--from (5) must not be greater than --to (3)') });
    const unknown = await cli(['audit', 'check'], env);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command "audit check"') });
    const noToken = await cli(['audit', 'verify'], { ...env, GREENLIGHT_TOKEN: '' });
    expect(noToken).toMatchObject({ code: 2, stderr: expect.stringContaining('GREENLIGHT_TOKEN is not set') });
    const unreachable = await cli(['audit', 'verify'], env);
    expect(unreachable).toMatchObject({ code: 2, stderr: expect.stringContaining('Cannot reach Greenlight') });
  });

  describe('export and offline verify', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-audit-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const NOTHING_VOUCHES = 'nothing vouches for it';
    const lines = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '');

    it("exports the sealed log to a file and verifies it offline, with the server's key or a saved one", async () => {
      const { server, env } = await serverWithSealedLog(5);
      try {
        const file = join(dir, 'export.ndjson');
        const exported = await cli(['audit', 'export', '--out', file], env);
        expect(exported.code).toBe(0);
        const content = lines(file);
        const events = content.map((line) => JSON.parse(line) as { kind: string; seq: number }).filter((line) => line.kind === 'event');
        expect(events.length).toBeGreaterThanOrEqual(5);
        expect(exported.stderr).toContain(`exported ${content.length} lines`);
        expect(exported.stderr).toContain(`last seq ${events.at(-1)!.seq}`);

        const verified = await cli(['audit', 'verify', '--file', file], env);
        expect(verified.stdout).toMatch(
          new RegExp(`✓ audit export ok: .*: seq 1 to ${events.at(-1)!.seq}, ${events.length} events and \\d+ checkpoints? checked`),
        );
        expect(verified.stdout).toContain('fetched from');
        expect(verified.code).toBe(0);

        // Truly offline: a saved key, and no server to reach.
        const keyFile = join(dir, 'key.json');
        writeFileSync(keyFile, await (await fetch(`${server.url}/.well-known/greenlight-audit-key.json`)).text());
        const offline = await cli(['audit', 'verify', '--file', file, '--key', keyFile], {
          GREENLIGHT_URL: 'http://127.0.0.1:9',
          GREENLIGHT_TOKEN: '',
        });
        expect(offline).toMatchObject({ code: 0, stdout: expect.stringContaining('✓ audit export ok') });
        expect(offline.stdout).toContain(`from ${keyFile}`);

        // Resuming after the last seq brings nothing new; to stdout.
        const resumed = await cli(['audit', 'export', '--after', String(events.at(-1)!.seq)], env);
        expect(resumed).toMatchObject({ code: 0, stdout: '' });

        // As CloudEvents: one per line, the summary naming the same last seq.
        const asCloudEvents = await cli(['audit', 'export', '--format', 'cloudevents'], env);
        expect(asCloudEvents.code).toBe(0);
        const cloudEvents = asCloudEvents.stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { specversion: string; type: string; chainseq: number });
        expect(cloudEvents.every((event) => event.specversion === '1.0' && event.type.startsWith('dev.greenlight.'))).toBe(true);
        expect(asCloudEvents.stderr).toContain(`last seq ${events.at(-1)!.seq}`);
        expect(await cli(['audit', 'export', '--format', 'xml'], env)).toMatchObject({ code: 2 });
      } finally {
        await server.stop();
      }
    });

    it('names an edited event (exit 1), and wants a checkpoint to vouch for an export without one', async () => {
      const { server, env } = await serverWithSealedLog(5);
      try {
        const file = join(dir, 'original.ndjson');
        expect((await cli(['audit', 'export', '--out', file], env)).code).toBe(0);
        const original = lines(file);
        const parsed = original.map(
          (line) => JSON.parse(line) as { kind: string; seq: number; hash: string; data: Record<string, unknown> },
        );

        // (b) Edit the data of seq 2.
        const edited = join(dir, 'edited.ndjson');
        writeFileSync(
          edited,
          parsed
            .map((line) =>
              JSON.stringify(line.kind === 'event' && line.seq === 2 ? { ...line, data: { ...line.data, name: 'mallory' } } : line),
            )
            .join('\n') + '\n',
        );
        const broken = await cli(['audit', 'verify', '--file', edited], env);
        expect(broken.stdout).toContain('✗ audit export broken at seq 2: MODIFIED');
        expect(broken.code).toBe(1);

        // (c) Without its checkpoint lines, nothing vouches for the export...
        const bare = join(dir, 'bare.ndjson');
        writeFileSync(
          bare,
          parsed
            .filter((line) => line.kind === 'event')
            .map((line) => JSON.stringify(line))
            .join('\n') + '\n',
        );
        const unvouched = await cli(['audit', 'verify', '--file', bare], env);
        expect(unvouched.stdout).toContain('✗ audit export not vouched for');
        expect(unvouched.stdout).toContain(NOTHING_VOUCHES);
        expect(unvouched.code).toBe(1);

        // ...until a checkpoint obtained elsewhere (here: the original export) anchors it.
        const checkpoint = parsed.filter((line) => line.kind === 'checkpoint').at(-1)!;
        const anchored = await cli(['audit', 'verify', '--file', bare, '--checkpoint', `${checkpoint.seq}:${checkpoint.hash}`], env);
        expect(anchored).toMatchObject({ code: 0, stdout: expect.stringContaining('✓ audit export ok') });
        const wrong = await cli(['audit', 'verify', '--file', bare, '--checkpoint', `${checkpoint.seq}:${'f'.repeat(64)}`], env);
        expect(wrong).toMatchObject({
          code: 1,
          stdout: expect.stringContaining(`✗ audit export broken at seq ${checkpoint.seq}: MODIFIED`),
        });
      } finally {
        await server.stop();
      }
    });

    it('refuses bad export and offline-verify options with usage errors (exit 2)', async () => {
      const env = { GREENLIGHT_URL: 'http://127.0.0.1:9', GREENLIGHT_TOKEN: ADMIN_TOKEN };
      const negative = await cli(['audit', 'export', '--after', '-1'], env);
      expect(negative).toMatchObject({ code: 2, stderr: expect.stringContaining("'--after'") });
      const negativeValue = await cli(['audit', 'export', '--after=-1'], env);
      expect(negativeValue).toMatchObject({ code: 2, stderr: expect.stringContaining('--after must be a whole number') });
      const mixed = await cli(['audit', 'verify', '--file', 'x.ndjson', '--from', '2'], env);
      expect(mixed).toMatchObject({ code: 2, stderr: expect.stringContaining('audit verify --file takes no --from') });
      const missing = await cli(['audit', 'verify', '--file', join(dir, 'missing.ndjson')], env);
      expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('Cannot read') });
      const garbage = join(dir, 'garbage.ndjson');
      writeFileSync(garbage, '{"kind":"event","seq":1}\n\nnot json\n');
      writeFileSync(join(dir, 'k.json'), '{"keys":[]}');
      const noKeys = await cli(['audit', 'verify', '--file', garbage, '--key', join(dir, 'k.json')], env);
      expect(noKeys).toMatchObject({ code: 2, stderr: expect.stringContaining('holds no key') });
      const badKey = await cli(['audit', 'verify', '--file', garbage, '--key', join(dir, 'k.json'), '--checkpoint', '3'], env);
      expect(badKey).toMatchObject({ code: 2, stderr: expect.stringContaining('--checkpoint must be SEQ:HASH') });
    });

    it("reports the server's refusal of an export (exit 2) and a bad line of an export file", async () => {
      const { server, env } = await serverWithSealedLog(1);
      try {
        const agent = await createActor(server, { kind: 'AGENT', name: 'not-an-auditor', roles: ['AGENT'] });
        const denied = await cli(['audit', 'export'], { ...env, GREENLIGHT_TOKEN: agent.token });
        expect(denied).toMatchObject({ code: 2, stderr: expect.stringContaining('403') });
        expect(denied.stderr).toContain('AUDITOR or ADMIN');
        const garbage = join(dir, 'garbage-line.ndjson');
        writeFileSync(garbage, '{"kind":"event","seq":1}\n\nnot json\n');
        const bad = await cli(['audit', 'verify', '--file', garbage], env);
        expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('line 3: not valid JSON') });
      } finally {
        await server.stop();
      }
    });
  });
});

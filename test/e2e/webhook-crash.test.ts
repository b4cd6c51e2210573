import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// A webhook delivery survives the death of the process that owed it: the outbox lives in the
// database, so a server killed with SIGKILL after the commit and before the delivery sends it
// once it is started again.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = 'crash-test-admin-token-0123456789';
// Two cold starts of a real process (tsx, PGlite on disk) on a busy two-core machine.
const TIMEOUT = 180_000; // 3 minutes

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

/** The server itself (not through npm), so SIGKILL reaches it. */
function startServer(env: Record<string, string>): Promise<Server> {
  const inherited = { ...process.env };
  for (const name of ['DATABASE_URL', 'DATA_DIR', 'ADMIN_TOKEN', 'PORT', 'HOST']) delete inherited[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...inherited,
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_TOKEN: ADMIN,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BASE_MS: '100',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise((resolve) => child.once('exit', resolve));
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const ready = /ready at (http:\/\/\S+)\/graphql/.exec(line);
      if (ready) resolve({ child, url: ready[1]!, exited });
    });
    void exited.then((code) => reject(new Error(`exited with ${String(code)} before ready:\n${output.join('\n')}`)));
  });
}

async function gql(url: string, token: string, query: string, variables?: object) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

describe('a webhook delivery owed by a killed process', () => {
  let dataDir: string;
  let database: TestDatabase;
  let receiver: WebhookReceiver;
  let server: Server | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-webhook-crash-'));
    database = await createTestDatabase();
    receiver = await startWebhookReceiver();
  });

  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await server?.exited;
    await receiver?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is sent after a restart, once', { timeout: TIMEOUT }, async () => {
    const env: Record<string, string> = { DATA_DIR: dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };
    server = await startServer(env);
    const created = await gql(
      server.url,
      ADMIN,
      'mutation($url: String!) { createWebhook(input: { url: $url, events: ["action.blocked"] }) { secret errors { __typename } } }',
      { url: receiver.url },
    );
    receiver.secrets = [created.data.createWebhook.secret];
    await gql(
      server.url,
      ADMIN,
      'mutation { publishPolicy(input: { rules: [{ id: "no", effect: BLOCK, actions: ["db.drop"], resources: ["**"] }] }) { errors { __typename } } }',
    );
    const agent = await gql(
      server.url,
      ADMIN,
      'mutation { createPrincipal(input: { kind: AGENT, name: "crash-bot", roles: [AGENT] }) { token errors { __typename } } }',
    );
    // The endpoint fails every attempt while the first process lives: the delivery is committed, owed, and not made.
    receiver.failNext(Number.MAX_SAFE_INTEGER);
    const asked = await gql(
      server.url,
      agent.data.createPrincipal.token,
      'mutation { requestAction(input: { action: "db.drop", resource: "prod/x" }) { request { id status } } }',
    );
    const { id } = asked.data.requestAction.request;
    expect(asked.data.requestAction.request.status).toBe('BLOCKED');
    await receiver.untilAttempted();
    server.child.kill('SIGKILL');
    await server.exited;
    expect(receiver.received).toEqual([]);

    receiver.failNext(0);
    server = await startServer(env);
    await receiver.until((received) => received.some((r) => r.body.data.request?.id === id));
    expect(receiver.received.filter((r) => r.body.data.request?.id === id)).toHaveLength(1);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  output: string[];
  exited: Promise<number | null>;
}

/** Runs `npm start` (signals go to npm, as a supervisor would send them) until its ready line. */
function startProcess(env: Record<string, string>): Promise<Started> {
  const inherited = { ...process.env };
  for (const name of ['DATABASE_URL', 'DATA_DIR', 'ADMIN_TOKEN', 'PORT', 'HOST', 'AUDIT_SIGNING_KEY', 'AUDIT_SIGNING_KEY_FILE'])
    delete inherited[name];
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const ready = /ready at (http:\/\/\S+)\/graphql/.exec(line);
      if (ready) resolve({ child, url: ready[1]!, output, exited });
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before ready:\n${output.join('\n')}`)));
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

describe('the server process started with npm start', () => {
  let dataDir: string;
  let database: TestDatabase;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'greenlight-process-'));
    database = await createTestDatabase();
  });

  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  // Two cold starts of a real process (TypeScript transpiled by tsx, PGlite on disk): on a busy
  // two-core machine that takes far longer than an in-process test.
  const PROCESS_TEST_TIMEOUT = 180_000; // 3 minutes

  it(
    'hands over an administrator token on first start only (in a file, not the log), keeps data across restarts and stops cleanly on SIGTERM',
    { timeout: PROCESS_TEST_TIMEOUT },
    async () => {
      // DATA_DIR also holds the audit signing key when the database is PostgreSQL.
      const env: Record<string, string> = { DATA_DIR: dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) };
      const first = await startProcess(env);
      // Not on a terminal: the token is in a file only its owner may read, and never in the output.
      const tokenFile = join(dataDir, 'initial-admin-token');
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const adminToken = readFileSync(tokenFile, 'utf8').trim();
      expect(adminToken).toMatch(/^gl_/);
      expect(first.output.join('\n')).not.toContain(adminToken);
      expect(first.output.join('\n')).toContain(tokenFile);
      rmSync(tokenFile);
      expect((await fetch(`${first.url}/health`)).status).toBe(200);
      // The checkpoint signing key was generated on first start and kept, readable by its owner only.
      const keyFile = join(dataDir, 'audit-signing-key.pem');
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const key = await (await fetch(`${first.url}/.well-known/greenlight-audit-key.json`)).json();

      const created = await gql(
        first.url,
        adminToken,
        `mutation { createPrincipal(input: { kind: AGENT, name: "bot", roles: [AGENT] }) { token } }`,
      );
      const agentToken = created.data.createPrincipal.token as string;
      const response = await gql(
        first.url,
        agentToken,
        `mutation { requestAction(input: { action: "deploy.update", resource: "prod/api" }) { request { id status } } }`,
      );
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(response.data.requestAction.request.status).toBe('PENDING');

      const second = await startProcess(env);
      try {
        expect(second.output.some((line) => /gl_/.test(line))).toBe(false);
        expect(existsSync(join(dataDir, 'initial-admin-token'))).toBe(false);
        const viewer = await gql(second.url, adminToken, `{ viewer { name roles } actionRequests { edges { node { id status } } } }`);
        expect(viewer.data.viewer).toEqual({ name: 'admin', roles: ['ADMIN'] });
        expect(viewer.data.actionRequests.edges).toEqual([{ node: response.data.requestAction.request }]);
        expect(await (await fetch(`${second.url}/.well-known/greenlight-audit-key.json`)).json()).toEqual(key);
      } finally {
        second.child.kill('SIGINT');
        expect(await second.exited).toBe(0);
      }
    },
  );

  it(
    'refuses a second server on the same embedded DATA_DIR, naming the folder and the other process',
    { timeout: PROCESS_TEST_TIMEOUT },
    async () => {
      const shared = mkdtempSync(join(tmpdir(), 'greenlight-shared-'));
      const holder = await startProcess({ DATA_DIR: shared });
      try {
        await expect(startProcess({ DATA_DIR: shared })).rejects.toThrow(
          new RegExp(
            `DATA_DIR: ${shared} is in use by another Greenlight \\(process \\d+\\); stop it first, or set DATA_DIR to another folder\\.`,
          ),
        );
      } finally {
        holder.child.kill('SIGTERM');
        expect(await holder.exited).toBe(0);
        rmSync(shared, { recursive: true, force: true });
      }
    },
  );

  it('refuses to start with a bad setting and names it', { timeout: PROCESS_TEST_TIMEOUT }, async () => {
    await expect(startProcess({ DATA_DIR: dataDir, PORT: 'eighty' })).rejects.toThrow(/PORT/);
  });
});

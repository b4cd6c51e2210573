import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { generateSigningKeyPem } from '../../src/audit/keys.js';
import { defaultAuditConfig, defaultReceiptConfig, defaultSecurityConfig, StartupError, type Config } from '../../src/config.js';

// Settings that point at something unusable stop start-up with one line naming the setting.

const SERVER = 'postgres://postgres@127.0.0.1:5432';
let folder: string;

const config = (overrides: Partial<Config>): Config => ({
  port: 0,
  host: '127.0.0.1',
  databaseUrl: undefined,
  dataDir: 'memory://',
  adminToken: 'startup-admin-token-0123',
  sweepIntervalMs: 1_000,
  audit: defaultAuditConfig({ signingKey: generateSigningKeyPem() }),
  receipts: defaultReceiptConfig({ signingKey: generateSigningKeyPem() }),
  security: defaultSecurityConfig(),
  databaseWaitMs: 0,
  ...overrides,
});

async function refusal(overrides: Partial<Config>): Promise<string> {
  const error = await buildApp(config(overrides)).then(
    async (app) => {
      await app.stop();
      return null;
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StartupError);
  const message = (error as Error).message;
  expect(message.split('\n')).toHaveLength(1);
  return message;
}

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'greenlight-startup-'));
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('start-up', () => {
  it('names PORT when the port is taken, before touching the database', async () => {
    const holder: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)),
    );
    try {
      expect(await refusal({ port, dataDir: join(folder, 'never-created') })).toBe(
        `PORT: 127.0.0.1:${port} is already in use; stop what holds it, or set PORT to another port.`,
      );
    } finally {
      holder.close();
    }
  });

  it('names DATA_DIR when the folder cannot be written', async () => {
    const file = join(folder, 'a-file');
    writeFileSync(file, 'not a folder');
    expect(await refusal({ dataDir: join(file, 'data') })).toMatch(
      /^DATA_DIR: cannot create .*a-file\/data \(ENOTDIR\); choose a folder this user may write to\.$/,
    );
  });

  it('names DATA_DIR when another Greenlight uses the folder, and takes it once that one stopped', async () => {
    const dataDir = join(folder, 'shared');
    const first = await buildApp(config({ dataDir }));
    try {
      expect(await refusal({ dataDir })).toBe(
        `DATA_DIR: ${dataDir} is in use by another Greenlight (this process); stop it first, or set DATA_DIR to another folder.`,
      );
    } finally {
      await first.stop();
    }
    const second = await buildApp(config({ dataDir }));
    await second.stop();
  });

  it('takes over the claim of a process that no longer runs, even one that had this pid (a restarted container)', async () => {
    for (const [name, claim] of [
      ['crashed-here', `${process.pid} incarnation-of-a-crashed-predecessor\n`],
      ['crashed-elsewhere', '2147483646\n'],
    ] as const) {
      const dataDir = join(folder, name);
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(dataDir, 'greenlight.pid'), claim);
      const app = await buildApp(config({ dataDir }));
      expect(readFileSync(join(dataDir, 'greenlight.pid'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
      await app.stop();
    }
  });

  it('names DATABASE_URL when the database does not exist', async () => {
    expect(await refusal({ databaseUrl: `${SERVER}/greenlight_no_such_database` })).toBe(
      'DATABASE_URL: the database "greenlight_no_such_database" does not exist on 127.0.0.1:5432; create it (createdb greenlight_no_such_database) or name another.',
    );
  });

  it('names DATABASE_URL when no server answers, after waiting DATABASE_WAIT_SECONDS', async () => {
    const probe = createServer();
    const port = await new Promise<number>((resolve) =>
      probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)),
    );
    await new Promise((resolve) => probe.close(resolve));
    expect(await refusal({ databaseUrl: `postgres://app:secret-password@127.0.0.1:${port}/app`, databaseWaitMs: 300 })).toBe(
      `DATABASE_URL: no PostgreSQL answers at 127.0.0.1:${port} (ECONNREFUSED, waited 0.3 s): start it, or fix the address (DATABASE_WAIT_SECONDS sets the wait).`,
    );
  });
});

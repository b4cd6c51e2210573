import { buildApp, type App } from '../../src/app.js';
import { createPrincipal, type CreatePrincipalInput } from '../../src/auth/principals.js';
import type { Principal } from '../../src/auth/roles.js';
import { createTestDatabase } from './database.js';

/** An app instance without a listening socket, for tests that call services directly. */
export async function startTestApp(): Promise<{ app: App; stop(): Promise<void> }> {
  const database = await createTestDatabase();
  const app = await buildApp(
    { port: 0, host: '127.0.0.1', databaseUrl: database.databaseUrl, dataDir: database.dataDir, adminToken: 'integration-admin-token', sweepIntervalMs: 1_000 },
    { logging: 'error' },
  );
  return {
    app,
    async stop() {
      await app.stop();
      await database.drop();
    },
  };
}

export async function insertPrincipalFor(app: App, input: CreatePrincipalInput): Promise<Principal> {
  return (await createPrincipal(app.deps, null, input)).principal;
}

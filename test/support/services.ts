import { buildApp, type App } from '../../src/app.js';
import type { Deps } from '../../src/deps.js';
import { createEventHub } from '../../src/events/hub.js';
import { createPolicyStore } from '../../src/policies/store.js';
import { createPrincipal, type CreatePrincipalInput } from '../../src/auth/principals.js';
import type { Principal } from '../../src/auth/roles.js';
import { createTestDatabase, type TestDatabase } from './database.js';

function configFor(database: TestDatabase) {
  return {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: database.databaseUrl,
    dataDir: database.dataDir,
    adminToken: 'integration-admin-token',
    sweepIntervalMs: 1_000,
  };
}

export interface TestApp {
  app: App;
  /**
   * Another instance on the same database. On PostgreSQL it is a second app from `buildApp`, with
   * its own pool, policy snapshot and hub, as a second process would be. PGlite is one in-process
   * connection that a second app cannot open, so there it is a second set of deps (own policy
   * snapshot and hub) on the same connection.
   */
  secondInstance(): Promise<Deps>;
  stop(): Promise<void>;
}

/** An app instance without a listening socket, for tests that call services directly. */
export async function startTestApp(): Promise<TestApp> {
  const database = await createTestDatabase();
  const app = await buildApp(configFor(database), { logging: 'error' });
  const others: App[] = [];
  return {
    app,
    async secondInstance() {
      if (!database.databaseUrl) return { ...app.deps, hub: createEventHub(), policies: createPolicyStore() };
      const other = await buildApp(configFor(database), { logging: 'error' });
      others.push(other);
      return other.deps;
    },
    async stop() {
      await Promise.all(others.map((other) => other.stop()));
      await app.stop();
      await database.drop();
    },
  };
}

export async function insertPrincipalFor(app: App, input: CreatePrincipalInput): Promise<Principal> {
  return (await createPrincipal(app.deps, null, input)).principal;
}

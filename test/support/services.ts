import type { Logger } from '../../src/observability/logger.js';
import { buildApp, type App } from '../../src/app.js';
import { generateSigningKeyPem } from '../../src/audit/keys.js';
import { defaultAuditConfig, defaultReceiptConfig, defaultSecurityConfig } from '../../src/config.js';
import type { Deps } from '../../src/deps.js';
import { createEventHub, type EventHub } from '../../src/events/hub.js';
import { createLocalSignal } from '../../src/events/signal.js';
import { createPolicyStore } from '../../src/policies/store.js';
import { insertPrincipal, type CreatedPrincipal, type CreatePrincipalInput } from '../../src/auth/principals.js';
import type { Principal } from '../../src/auth/roles.js';
import { createTestDatabase, type TestDatabase } from './database.js';

function configFor(database: TestDatabase, signingKey: string) {
  return {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: database.databaseUrl,
    dataDir: database.dataDir,
    adminToken: 'integration-admin-token',
    sweepIntervalMs: 1_000,
    // Instances of one deployment share the checkpoint signing key.
    audit: defaultAuditConfig({ signingKey }),
    receipts: defaultReceiptConfig({ signingKey }),
    security: defaultSecurityConfig(),
    databaseWaitMs: 0,
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
  /** Like `secondInstance`, with its database handle (for the sealer's own session). */
  secondApp(): Promise<Pick<App, 'deps' | 'database'>>;
  stop(): Promise<void>;
}

/** An app instance without a listening socket, for tests that call services directly. */
export async function startTestApp(options: { logger?: Logger } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const signingKey = generateSigningKeyPem();
  const app = await buildApp(configFor(database, signingKey), { logging: 'error', logger: options.logger });
  const others: App[] = [];
  const hubs: EventHub[] = [];
  const secondApp = async (): Promise<Pick<App, 'deps' | 'database'>> => {
    if (!database.databaseUrl) {
      const hub = createEventHub(app.database.db, createLocalSignal());
      await hub.start();
      hubs.push(hub);
      return { deps: { ...app.deps, hub, policies: createPolicyStore() }, database: app.database };
    }
    const other = await buildApp(configFor(database, signingKey), { logging: 'error' });
    others.push(other);
    return other;
  };
  return {
    app,
    secondApp,
    secondInstance: async () => (await secondApp()).deps,
    async stop() {
      await Promise.all(others.map((other) => other.stop()));
      await Promise.all(hubs.map((hub) => hub.stop()));
      await app.stop();
      await database.drop();
    },
  };
}

export async function insertPrincipalFor(app: App, input: CreatePrincipalInput): Promise<Principal> {
  return (await insertPrincipalAsSystem(app.deps, input)).principal;
}

/** Creates a principal as the bootstrap does (no acting principal, no permission check), then publishes its events. */
export async function insertPrincipalAsSystem(deps: Pick<Deps, 'db' | 'hub'>, input: CreatePrincipalInput): Promise<CreatedPrincipal> {
  const created = await deps.db.transaction((tx) => insertPrincipal(tx, null, input));
  deps.hub.publish(created.events);
  return created;
}

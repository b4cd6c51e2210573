import { startSweeper, type Sweeper } from './approvals/sweeper.js';
import { loadAuditKeyring, loadSigningKey, trustedJwk } from './audit/keys.js';
import { createRedactor, loadRedactionKey } from './audit/redaction.js';
import { startSealer, type Sealer } from './audit/sealer.js';
import { createAuditAlarm } from './audit/verification-alarm.js';
import { startAuditWatch } from './audit/watch.js';
import { startNotifier, type Notifier } from './notifications/notifier.js';
import { countingPublishes, createMetrics } from './observability/metrics.js';
import { untrustedSigners } from './audit/verify-log.js';
import { createAuthenticator } from './auth/authenticator.js';
import { ensureAdministrator } from './auth/bootstrap.js';
import { defaultWebhookConfig, type Config } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/client.js';
import { createDatabaseClock, DATABASE_CLOCK_SYNC_MS } from './db/clock.js';
import { waitForDatabase } from './db/reachability.js';
import type { Deps } from './deps.js';
import type { EventHub } from './events/hub.js';
import { createPgSignal } from './events/pg-signal.js';
import { createLocalSignal } from './events/signal.js';
import { createLogger, logError } from './observability/logger.js';
import { createPolicyStore } from './policies/store.js';
import { createQuotas } from './quotas/quotas.js';
import { createReceiptSigner } from './receipts/signer.js';
import { checkReadiness } from './server/health.js';
import { createHttpServer } from './server/http.js';
import { every, type Periodic } from './periodic.js';
import { ensurePortFree } from './server/port.js';
import { createRequestLog } from './server/request-log.js';
import { createLiveDelivery } from './server/live-delivery.js';
import type { FanoutStats } from './server/shared-subscriptions.js';
import type { WebSocketOptions } from './server/websocket.js';
import { createGreenlightYoga, type GreenlightYoga, type YogaOptions } from './server/yoga.js';
import { AUTH_EVENT_TYPES } from './vocabulary.js';

export interface App {
  deps: Deps;
  database: DatabaseHandle;
  /** The GraphQL engine; tests may call `yoga.fetch` without opening a port. */
  yoga: GreenlightYoga;
  /** Subscription payload executions so far (shared ones counted once). */
  fanout: FanoutStats;
  /** This instance's audit sealer, once started (tests look at its leadership). */
  sealer(): Sealer | undefined;
  /** An administrator token generated on this start (first start without ADMIN_TOKEN), else null. */
  generatedAdminToken: string | null;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:4000`. */
  start(): Promise<string>;
  /** Graceful stop: sockets closed, in-flight requests answered, then the database closed. */
  stop(): Promise<void>;
}

export interface AppOptions extends YogaOptions {
  /** WebSocket limits (subscriptions per socket, keep-alive pings). */
  websocket?: WebSocketOptions;
}

/**
 * The composition root: the only place that wires the database, the event hub, the policy
 * snapshot, the services and the transports together. Everything is built here and passed in,
 * so one process can run several independent instances.
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  // Settings that point at something unusable fail here, each with one line naming the setting.
  await ensurePortFree(config.host, config.port);
  if (config.databaseUrl) await waitForDatabase(config.databaseUrl, config.databaseWaitMs);
  const log = options.logger ?? createLogger({ level: options.logging ?? 'info' });
  const database = createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log, pool: config.databasePool });
  let hubStarted: EventHub | undefined;
  try {
    await database.migrate();
    // Instances on one PostgreSQL wake each other with LISTEN/NOTIFY; PGlite is one process.
    const signals = config.databaseUrl
      ? createPgSignal(config.databaseUrl, database.db, (error) => logError(log, 'events', error, 'listener'))
      : createLocalSignal();
    const metrics = createMetrics(database.db, { position: () => hub.position() });
    // Every batch of events committed here is counted as it is published (once, on this instance).
    // Live delivery (the hub, shared subscription results, the socket writer) is this app's own.
    const live = createLiveDelivery(database.db, signals, { onError: (error) => logError(log, 'events', error) });
    const hub = countingPublishes(live.hub, metrics);
    const policies = createPolicyStore();
    await policies.reload(database.db);
    const warnAudit = (message: string) => log.warn({ scope: 'audit' }, message);
    const auditKeys = loadAuditKeyring(
      { pem: config.audit.signingKey, file: config.audit.signingKeyFile, trusted: config.audit.trustedKeys.map(trustedJwk) },
      warnAudit,
    );
    for (const keyId of await untrustedSigners(database.db, auditKeys)) {
      warnAudit(
        `Checkpoints signed with key ${keyId} will not verify here: give every instance the same AUDIT_SIGNING_KEY, or list that key in AUDIT_TRUSTED_KEYS.`,
      );
    }
    const redactor = createRedactor(await loadRedactionKey(database.db));
    // What this instance judges in memory (token expiry, approval windows) follows the database's clock.
    const clock = createDatabaseClock(database.db);
    await clock.sync();
    const auth = createAuthenticator(database.db, {
      clock,
      failuresPerMinute: config.security.authFailuresPerMinute,
      onError: (error) => logError(log, 'auth', error),
    });
    const quotas = createQuotas({ requestsPerMinute: config.security.requestsPerMinute });
    const receiptKey = loadSigningKey({ pem: config.receipts.signingKey, file: config.receipts.signingKeyFile }, () =>
      log.warn(
        { scope: 'receipts' },
        'No receipt signing key configured (RECEIPT_SIGNING_KEY or RECEIPT_SIGNING_KEY_FILE): receipts are signed with a key that dies with this process.',
      ),
    );
    const receipts = createReceiptSigner(receiptKey, config.receipts.trustedKeys.map(trustedJwk), config.receipts.issuer);
    const webhooks =
      config.webhooks ??
      defaultWebhookConfig({ publicUrl: config.receipts.issuer.startsWith('http') ? config.receipts.issuer : undefined });
    const deps: Deps = {
      db: database.db,
      hub,
      policies,
      auditKeys,
      redactor,
      auth,
      quotas,
      receipts,
      webhooks,
      metrics,
      log,
      clock,
      auditAlarm: createAuditAlarm({ db: database.db, hub }, config.audit.verifyIntervalMs || 3_600_000),
    };
    const bootstrap = await ensureAdministrator(database.db, config.adminToken);
    await hub.start();
    hubStarted = hub;
    // Other instances hear of a rotated token (their sockets using the old one close).
    hub.publish(bootstrap.events);
    // A policy published or activated on another instance is installed here as soon as it is heard of
    // (each request checks the active version anyway; this keeps `current()` fresh between requests).
    hub.listen((event) => {
      if (event.type === 'POLICY_PUBLISHED' || event.type === 'POLICY_ACTIVATED') {
        policies.reload(database.db).catch((error) => logError(log, 'policies', error, 'reload failed'));
      }
      // A principal or token changed, here or on another instance: forget what is cached of it,
      // close its sockets whose session no longer stands, let its subscriptions follow its groups.
      if (AUTH_EVENT_TYPES.has(event.type)) {
        auth.principalChanged(String(event.data['principalId'])).catch((error) => logError(log, 'auth', error, 'refresh failed'));
      }
    });

    const requestLog = createRequestLog(log);
    const yoga = createGreenlightYoga(deps, live.subscriptions, { ...options, http: config.security, requestLog });
    const http = createHttpServer(yoga, deps, live, () => checkReadiness(database, hub), {
      requestLog,
      metricsToken: config.metricsToken,
      maxSocketsPerPrincipal: config.security.socketsPerPrincipal,
      trustProxy: config.security.trustProxy,
      ...options.websocket,
    });
    let started = false;
    let sweeper: Sweeper | undefined;
    let sealer: Sealer | undefined;
    let notifier: Notifier | undefined;
    let auditWatch: Periodic | undefined;
    let clockSync: Periodic | undefined;
    let stopped: Promise<void> | null = null;
    return {
      deps,
      database,
      yoga,
      generatedAdminToken: bootstrap.generatedToken,
      sealer: () => sealer,
      fanout: live.subscriptions,
      async start() {
        const url = await http.listen(config.port, config.host);
        sweeper = startSweeper(deps, config.sweepIntervalMs, (error) => logError(log, 'sweeper', error));
        sealer = startSealer(
          database,
          auditKeys,
          {
            intervalMs: config.audit.sealIntervalMs,
            everyEvents: config.audit.checkpointEvents,
            everyMs: config.audit.checkpointIntervalMs,
          },
          (error) => logError(log, 'sealer', error),
        );
        if (config.audit.verifyIntervalMs > 0) {
          const leader = () => sealer?.isLeader() === true;
          auditWatch = startAuditWatch(deps, leader, config.audit.verifyIntervalMs, (error) => logError(log, 'audit-watch', error));
        }
        notifier = startNotifier(deps, (error) => logError(log, 'webhooks', error));
        clockSync = every(
          DATABASE_CLOCK_SYNC_MS,
          () => clock.sync(),
          (error) => logError(log, 'clock', error),
        );
        started = true;
        return url;
      },
      stop() {
        stopped ??= (async () => {
          if (started) await http.close();
          await sweeper?.stop();
          await auditWatch?.stop();
          await clockSync?.stop();
          await sealer?.stop();
          await notifier?.stop();
          await hub.stop();
          await auth.stop();
          await database.close();
        })();
        return stopped;
      },
    };
  } catch (error) {
    await hubStarted?.stop().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw error;
  }
}

import type { WebhookConfig } from './config.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { AuditKeyring } from './audit/keys.js';
import type { AuditAlarm } from './audit/verification-alarm.js';
import type { Authenticator } from './auth/authenticator.js';
import type { Redactor } from './audit/redaction.js';
import type { Database } from './db/client.js';
import type { DatabaseClock } from './db/clock.js';
import type { EventHub } from './events/hub.js';
import type { PolicyStore } from './policies/store.js';
import type { Quotas } from './quotas/quotas.js';
import type { ReceiptSigner } from './receipts/signer.js';

/**
 * What services need from the outside world. Built once per app instance in `app.ts` and passed
 * in explicitly: there are no module-level database or event singletons, so one process can run
 * several instances (as the multi-instance tests do).
 */
export interface Deps {
  db: Database;
  hub: EventHub;
  policies: PolicyStore;
  /** Signs audit checkpoints and verifies them (`verifyAuditLog`, the well-known key). */
  auditKeys: AuditKeyring;
  /** Masks the values at a policy's `redact` paths (one key per deployment, in the database). */
  redactor: Redactor;
  /** Authenticates bearer tokens (cached); services tell it when a principal or its tokens change. */
  auth: Authenticator;
  /** Per-principal limits on the write path. */
  quotas: Quotas;
  /** Signs approval receipts and checks the ones presented for redemption (the JWK Set). */
  receipts: ReceiptSigner;
  /** Webhook delivery settings (retries, private targets, the console's URL for links). */
  webhooks: WebhookConfig;
  /** This app's Prometheus registry and the hooks that move it. */
  metrics: Metrics;
  /** Records a broken audit log as AUDIT_VERIFICATION_FAILED (`audit.verification_failed`). */
  auditAlarm: AuditAlarm;
  /** The database's time as this instance reckons it: for what is judged in memory (see DatabaseClock). */
  clock: DatabaseClock;
  /** This app's structured logger (pino): never given a secret, a bind parameter or a redacted value. */
  log: Logger;
}

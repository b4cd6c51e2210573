import { z } from 'zod';

/**
 * The service's settings. This module is the only reader of `process.env`; everything else
 * receives a `Config` value, so tests can build several differently configured apps in one
 * process.
 */
/** `https://host[:port]`, nothing after: what a browser sends as `Origin`. */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text.replace(/\/$/, '');
  } catch {
    return false;
  }
}

const booleanSetting = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

/** Ed25519 public keys: a JWK, an array of JWKs or a JWK Set. */
const trustedKeysSetting = z
  .string()
  .transform((text, ctx) => {
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed : ((parsed as { keys?: unknown })?.keys ?? [parsed]);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON: a JWK, an array of JWKs or a JWK Set {"keys": [...]}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.array(z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/) }), {
      error: 'must hold Ed25519 public JWKs',
    }),
  )
  .optional();

const privateKeySetting = z.string().includes('PRIVATE KEY', { message: 'must be a PKCS#8 PEM private key' });

const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// connection string')
    .optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters long').optional(),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  AUDIT_SIGNING_KEY: privateKeySetting.optional(),
  AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  AUDIT_TRUSTED_KEYS: trustedKeysSetting,
  AUDIT_SEAL_INTERVAL_MS: z.coerce.number().int().min(10).max(1_000).default(250),
  AUDIT_CHECKPOINT_EVENTS: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
  AUDIT_VERIFY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(604_800).default(3_600),
  RECEIPT_SIGNING_KEY: privateKeySetting.optional(),
  RECEIPT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  RECEIPT_TRUSTED_KEYS: trustedKeysSetting,
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://greenlight.example.com' })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  WEBHOOK_RETRY_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(30 * 86_400)
    .default(86_400),
  WEBHOOK_ALLOW_PRIVATE: booleanSetting.optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters long').optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  DATABASE_WAIT_SECONDS: z.coerce.number().int().min(0).max(3_600).default(30),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1_000).default(10),
  DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(10).max(600_000).default(5_000),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  MAX_SOCKETS_PER_PRINCIPAL: z.coerce.number().int().min(1).max(100_000).default(20),
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(30),
  CORS_ORIGINS: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .refine((origins) => origins.every(isOrigin), 'must list origins such as https://console.example.com, separated by commas')
    .transform((origins) => origins.map((origin) => new URL(origin).origin))
    .optional(),
  NODE_ENV: z.string().optional(),
  TRUST_PROXY: booleanSetting.optional(),
  GRAPHIQL: booleanSetting.optional(),
  INTROSPECTION: booleanSetting.optional(),
});

/** How the audit log is sealed into its hash chain and checkpointed. */
export interface AuditConfig {
  /** Ed25519 private key (PKCS#8 PEM) that signs checkpoints; wins over `signingKeyFile`. */
  signingKey: string | undefined;
  /**
   * File holding that key, generated on first start when absent. Defaults to
   * `DATA_DIR/audit-signing-key.pem`; none for an in-memory DATA_DIR (a per-process key).
   */
  signingKeyFile: string | undefined;
  /** Ed25519 public keys (JWK) whose checkpoints verify too: other instances', earlier keys. */
  trustedKeys: { kty: 'OKP'; crv: 'Ed25519'; x: string }[];
  /** How often the sealer looks for committed, unsealed events (milliseconds, 10 to 1,000). */
  sealIntervalMs: number;
  /** A checkpoint is signed once this many events were sealed since the last one... */
  checkpointEvents: number;
  /** ...or when this long passed since it and anything new was sealed (milliseconds). */
  checkpointIntervalMs: number;
  /**
   * How often the sealing instance verifies the whole log and records a break it finds
   * (AUDIT_VERIFICATION_FAILED, `audit.verification_failed`), in milliseconds; 0 never.
   */
  verifyIntervalMs: number;
}

/** How signed approval receipts are made: the key, the keys published beside it, the issuer. */
export interface ReceiptConfig {
  /** Ed25519 private key (PKCS#8 PEM) that signs receipts; wins over `signingKeyFile`. */
  signingKey: string | undefined;
  /**
   * File holding that key, generated on first start when absent. Defaults to
   * `DATA_DIR/receipt-signing-key.pem`; none for an in-memory DATA_DIR (a per-process key).
   */
  signingKeyFile: string | undefined;
  /** Ed25519 public keys (JWK) published in the JWK Set too: other instances', earlier keys still within receipts' lifetime. */
  trustedKeys: { kty: 'OKP'; crv: 'Ed25519'; x: string }[];
  /** The receipts' `iss`: PUBLIC_URL when set, else `greenlight`. */
  issuer: string;
}

/** The limits and exposure of the HTTP and WebSocket surface. */
export interface SecurityConfig {
  /** `requestAction` calls one principal may make per minute on this instance (0: no limit). */
  requestsPerMinute: number;
  /** WebSocket connections one principal may hold open on this instance. */
  socketsPerPrincipal: number;
  /** Failed authentications one remote address may make per minute before it is refused for a while (0: no limit). */
  authFailuresPerMinute: number;
  /** One reverse proxy is in front: a client's address is the last entry of `X-Forwarded-For`. */
  trustProxy: boolean;
  /** Origins whose browsers may call the API cross-origin (CORS); none by default. */
  corsOrigins: string[];
  /** Serve GraphiQL (from the installed packages) on GET /graphql for browsers. */
  graphiql: boolean;
  /** Answer introspection queries (`__schema`, `__type`). */
  introspection: boolean;
}

export interface Config {
  /** TCP port of the HTTP and WebSocket server; 0 picks a free port. */
  port: number;
  /** Interface to listen on; loopback by default so nothing is exposed by accident. */
  host: string;
  /** PostgreSQL connection string; when absent the embedded PGlite database is used. */
  databaseUrl: string | undefined;
  /** PGlite data folder, or `memory://` for a throw-away in-memory database. */
  dataDir: string;
  /** A bearer token that authenticates as the bootstrap administrator. */
  adminToken: string | undefined;
  /** How often this instance looks for overdue PENDING requests (milliseconds, 100 to 60,000). */
  sweepIntervalMs: number;
  audit: AuditConfig;
  receipts: ReceiptConfig;
  security: SecurityConfig;
  /** Webhook delivery; the defaults when absent. */
  webhooks?: WebhookConfig;
  /** A bearer token `/metrics` asks for; open when unset. */
  metricsToken?: string | undefined;
  /** The server's log: the least severe level written, and JSON lines or human-readable ones (default: human-readable on a terminal). */
  log?: { level: 'debug' | 'info' | 'warn' | 'error' | 'silent'; format: 'json' | 'pretty' | undefined };
  /** How long start-up waits for a PostgreSQL server that refuses connections (milliseconds). */
  databaseWaitMs: number;
  /** The PostgreSQL connection pool (default: 10 connections, 5 s to get one). */
  databasePool?: Partial<DatabasePoolConfig>;
}

/** The PostgreSQL connection pool: its size, and how long a query waits for a connection. */
export interface DatabasePoolConfig {
  size: number;
  /**
   * Past this, a query waiting for a free connection (or a connection to a server that does not
   * answer) fails, and the caller gets `UNAVAILABLE` instead of waiting in an ever longer queue.
   */
  acquireTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Start-up cannot go on, for a reason outside the code: a setting points at something unusable
 * (a database that does not exist, a folder that cannot be written, a port in use). The message
 * is one line that names the setting; `main` prints it alone, without a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** Parses the environment; throws a `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`DATABASE_URL=`) means "not set", as in most twelve-factor services.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = ConfigSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const value = parsed.data;
  return {
    port: value.PORT,
    host: value.HOST,
    databaseUrl: value.DATABASE_URL,
    dataDir: value.DATA_DIR,
    adminToken: value.ADMIN_TOKEN,
    sweepIntervalMs: value.SWEEP_INTERVAL_MS,
    audit: {
      signingKey: value.AUDIT_SIGNING_KEY,
      signingKeyFile:
        value.AUDIT_SIGNING_KEY_FILE ?? (value.DATA_DIR.startsWith('memory://') ? undefined : `${value.DATA_DIR}/audit-signing-key.pem`),
      trustedKeys: value.AUDIT_TRUSTED_KEYS ?? [],
      sealIntervalMs: value.AUDIT_SEAL_INTERVAL_MS,
      checkpointEvents: value.AUDIT_CHECKPOINT_EVENTS,
      checkpointIntervalMs: value.AUDIT_CHECKPOINT_INTERVAL_MS,
      verifyIntervalMs: value.AUDIT_VERIFY_INTERVAL_SECONDS * 1_000,
    },
    receipts: {
      signingKey: value.RECEIPT_SIGNING_KEY,
      signingKeyFile:
        value.RECEIPT_SIGNING_KEY_FILE ??
        (value.DATA_DIR.startsWith('memory://') ? undefined : `${value.DATA_DIR}/receipt-signing-key.pem`),
      trustedKeys: value.RECEIPT_TRUSTED_KEYS ?? [],
      issuer: value.PUBLIC_URL ?? DEFAULT_ISSUER,
    },
    security: {
      requestsPerMinute: value.RATE_LIMIT_PER_MINUTE,
      socketsPerPrincipal: value.MAX_SOCKETS_PER_PRINCIPAL,
      authFailuresPerMinute: value.AUTH_FAILURES_PER_MINUTE,
      trustProxy: value.TRUST_PROXY ?? false,
      corsOrigins: value.CORS_ORIGINS ?? [],
      // A production deployment shows neither unless asked to.
      graphiql: value.GRAPHIQL ?? value.NODE_ENV !== 'production',
      introspection: value.INTROSPECTION ?? value.NODE_ENV !== 'production',
    },
    webhooks: defaultWebhookConfig({
      retryBaseMs: value.WEBHOOK_RETRY_BASE_MS,
      retryWindowMs: value.WEBHOOK_RETRY_WINDOW_SECONDS * 1_000,
      allowPrivate: value.WEBHOOK_ALLOW_PRIVATE ?? false,
      publicUrl: value.PUBLIC_URL,
    }),
    metricsToken: value.METRICS_TOKEN,
    log: { level: value.LOG_LEVEL, format: value.LOG_FORMAT },
    databaseWaitMs: value.DATABASE_WAIT_SECONDS * 1_000,
    databasePool: { size: value.DATABASE_POOL_SIZE, acquireTimeoutMs: value.DATABASE_ACQUIRE_TIMEOUT_MS },
  };
}

/** Webhook delivery settings. */
export interface WebhookConfig {
  /** The first retry's delay; each next one doubles (with jitter), up to an hour. */
  retryBaseMs: number;
  /** How long a delivery is retried before it is dead-lettered (24 h by default). */
  retryWindowMs: number;
  /** Let webhooks reach loopback, private and link-local addresses (for tests and private networks). */
  allowPrivate: boolean;
  /** The console's base URL for the links in deliveries; none when unset. */
  publicUrl: string | undefined;
  /** How often each instance moves sealed events into deliveries and sends what is due. */
  intervalMs: number;
}

/** The webhook settings' defaults, for callers that build a `Config` by hand (tests, benchmarks). */
export function defaultWebhookConfig(overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return { retryBaseMs: 30_000, retryWindowMs: 86_400_000, allowPrivate: false, publicUrl: undefined, intervalMs: 250, ...overrides };
}

/** The audit settings' defaults, for callers that build a `Config` by hand (tests, benchmarks). */
export function defaultAuditConfig(overrides: Partial<AuditConfig> = {}): AuditConfig {
  return {
    signingKey: undefined,
    signingKeyFile: undefined,
    trustedKeys: [],
    sealIntervalMs: 250,
    checkpointEvents: 1_000,
    checkpointIntervalMs: 60_000,
    verifyIntervalMs: 3_600_000,
    ...overrides,
  };
}

const DEFAULT_ISSUER = 'greenlight';

/** The receipt settings' defaults, for callers that build a `Config` by hand (tests, benchmarks). */
export function defaultReceiptConfig(overrides: Partial<ReceiptConfig> = {}): ReceiptConfig {
  return { signingKey: undefined, signingKeyFile: undefined, trustedKeys: [], issuer: DEFAULT_ISSUER, ...overrides };
}

/** The security settings' defaults, for callers that build a `Config` by hand (tests, benchmarks). */
export function defaultSecurityConfig(overrides: Partial<SecurityConfig> = {}): SecurityConfig {
  return {
    requestsPerMinute: 600,
    socketsPerPrincipal: 20,
    authFailuresPerMinute: 30,
    trustProxy: false,
    corsOrigins: [],
    graphiql: true,
    introspection: true,
    ...overrides,
  };
}

/** Settings of the command-line client (`npm run cli`), which talks to a running server. */
export interface CliConfig {
  /** Base URL of the Greenlight server (GREENLIGHT_URL), default http://127.0.0.1:4000. */
  serverUrl: string;
  /** Bearer token for it (GREENLIGHT_TOKEN); needed by the commands that call the server. */
  token: string | undefined;
}

const CliConfigSchema = z.object({
  GREENLIGHT_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('http://127.0.0.1:4000'),
  GREENLIGHT_TOKEN: z.string().min(1).optional(),
});

export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = CliConfigSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(`Invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return { serverUrl: parsed.data.GREENLIGHT_URL, token: parsed.data.GREENLIGHT_TOKEN };
}

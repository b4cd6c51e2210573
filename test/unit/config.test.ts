import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('defaults to the embedded database on loopback port 4000', () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: './.data',
      adminToken: undefined,
      sweepIntervalMs: 1_000,
      audit: {
        signingKey: undefined,
        signingKeyFile: './.data/audit-signing-key.pem',
        trustedKeys: [],
        sealIntervalMs: 250,
        checkpointEvents: 1_000,
        checkpointIntervalMs: 60_000,
        verifyIntervalMs: 3_600_000,
      },
      receipts: { signingKey: undefined, signingKeyFile: './.data/receipt-signing-key.pem', trustedKeys: [], issuer: 'greenlight' },
      security: {
        requestsPerMinute: 600,
        socketsPerPrincipal: 20,
        authFailuresPerMinute: 30,
        trustProxy: false,
        corsOrigins: [],
        graphiql: true,
        introspection: true,
      },
      webhooks: { retryBaseMs: 30_000, retryWindowMs: 86_400_000, allowPrivate: false, publicUrl: undefined, intervalMs: 250 },
      metricsToken: undefined,
      log: { level: 'info', format: undefined },
      databaseWaitMs: 30_000,
      databasePool: { size: 10, acquireTimeoutMs: 5_000 },
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '8080',
        HOST: '0.0.0.0',
        DATABASE_URL: 'postgres://u@db:5432/gl',
        DATA_DIR: 'memory://',
        ADMIN_TOKEN: 'a-long-enough-admin-token',
        SWEEP_INTERVAL_MS: '250',
        AUDIT_SIGNING_KEY_FILE: '/run/secrets/audit.pem',
        AUDIT_TRUSTED_KEYS:
          '{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "Cr1XkTaCibiSINvkt6uFeqslSp22cjlRMdoGu7HhKZY", "kid": "ignored"}]}',
        AUDIT_SEAL_INTERVAL_MS: '100',
        AUDIT_CHECKPOINT_EVENTS: '500',
        AUDIT_CHECKPOINT_INTERVAL_MS: '30000',
        AUDIT_VERIFY_INTERVAL_SECONDS: '0',
        RECEIPT_SIGNING_KEY_FILE: '/run/secrets/receipts.pem',
        RECEIPT_TRUSTED_KEYS: '[{"kty": "OKP", "crv": "Ed25519", "x": "Cr1XkTaCibiSINvkt6uFeqslSp22cjlRMdoGu7HhKZY"}]',
        PUBLIC_URL: 'https://greenlight.example.com/',
        WEBHOOK_RETRY_BASE_MS: '1000',
        WEBHOOK_RETRY_WINDOW_SECONDS: '3600',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        METRICS_TOKEN: 'a-long-enough-metrics-token',
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        DATABASE_WAIT_SECONDS: '5',
        DATABASE_POOL_SIZE: '20',
        DATABASE_ACQUIRE_TIMEOUT_MS: '2000',
        RATE_LIMIT_PER_MINUTE: '0',
        MAX_SOCKETS_PER_PRINCIPAL: '3',
        AUTH_FAILURES_PER_MINUTE: '10',
        TRUST_PROXY: 'true',
        CORS_ORIGINS: 'https://console.example.com, http://localhost:5173',
        GRAPHIQL: 'false',
        INTROSPECTION: '1',
      }),
    ).toEqual({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u@db:5432/gl',
      dataDir: 'memory://',
      adminToken: 'a-long-enough-admin-token',
      sweepIntervalMs: 250,
      audit: {
        signingKey: undefined,
        signingKeyFile: '/run/secrets/audit.pem',
        trustedKeys: [{ kty: 'OKP', crv: 'Ed25519', x: 'Cr1XkTaCibiSINvkt6uFeqslSp22cjlRMdoGu7HhKZY' }],
        sealIntervalMs: 100,
        checkpointEvents: 500,
        checkpointIntervalMs: 30_000,
        verifyIntervalMs: 0,
      },
      receipts: {
        signingKey: undefined,
        signingKeyFile: '/run/secrets/receipts.pem',
        trustedKeys: [{ kty: 'OKP', crv: 'Ed25519', x: 'Cr1XkTaCibiSINvkt6uFeqslSp22cjlRMdoGu7HhKZY' }],
        issuer: 'https://greenlight.example.com',
      },
      security: {
        requestsPerMinute: 0,
        socketsPerPrincipal: 3,
        authFailuresPerMinute: 10,
        trustProxy: true,
        corsOrigins: ['https://console.example.com', 'http://localhost:5173'],
        graphiql: false,
        introspection: true,
      },
      webhooks: {
        retryBaseMs: 1_000,
        retryWindowMs: 3_600_000,
        allowPrivate: true,
        publicUrl: 'https://greenlight.example.com',
        intervalMs: 250,
      },
      metricsToken: 'a-long-enough-metrics-token',
      log: { level: 'warn', format: 'json' },
      databaseWaitMs: 5_000,
      databasePool: { size: 20, acquireTimeoutMs: 2_000 },
    });
  });

  it('hides GraphiQL and introspection in production unless asked for', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).security).toMatchObject({ graphiql: false, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'true', INTROSPECTION: 'true' }).security).toMatchObject({
      graphiql: true,
      introspection: true,
    });
  });

  it('keeps the audit signing key out of a memory:// data folder, and takes a PEM given directly', () => {
    expect(loadConfig({ DATA_DIR: 'memory://' }).audit.signingKeyFile).toBeUndefined();
    expect(loadConfig({ DATA_DIR: 'memory://' }).receipts.signingKeyFile).toBeUndefined();
    const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n';
    expect(loadConfig({ AUDIT_SIGNING_KEY: pem }).audit.signingKey).toBe(pem);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ databaseUrl: undefined, port: 4000 });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: must be a postgres:// or postgresql:// connection string'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN: must be at least 16 characters long'],
    [{ AUDIT_SIGNING_KEY: 'secret' }, 'AUDIT_SIGNING_KEY: must be a PKCS#8 PEM private key'],
    [{ AUDIT_SEAL_INTERVAL_MS: '5000' }, 'AUDIT_SEAL_INTERVAL_MS'],
    [{ AUDIT_TRUSTED_KEYS: 'not json' }, 'AUDIT_TRUSTED_KEYS: must be JSON'],
    [{ AUDIT_TRUSTED_KEYS: '[{"kty": "RSA", "n": "x"}]' }, 'AUDIT_TRUSTED_KEYS'],
    [{ RECEIPT_SIGNING_KEY: 'secret' }, 'RECEIPT_SIGNING_KEY: must be a PKCS#8 PEM private key'],
    [{ RECEIPT_TRUSTED_KEYS: '{"kty": "EC"}' }, 'RECEIPT_TRUSTED_KEYS'],
    [{ PUBLIC_URL: 'ftp://example.com' }, 'PUBLIC_URL: must be an http(s) URL'],
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, 'RATE_LIMIT_PER_MINUTE'],
    [{ MAX_SOCKETS_PER_PRINCIPAL: '0' }, 'MAX_SOCKETS_PER_PRINCIPAL'],
    [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS: must list origins'],
    [{ GRAPHIQL: 'yes' }, 'GRAPHIQL: must be true or false'],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, StartupError } from './config.js';
import { loggableError } from './logging.js';
import { createLogger, type Logger } from './observability/logger.js';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig();
  const settings = config.log ?? { level: 'info', format: undefined };
  const log = createLogger({
    level: settings.level === 'silent' ? false : settings.level,
    pretty: settings.format === undefined ? undefined : settings.format === 'pretty',
  });
  const app = await buildApp(config, { logger: log });
  const url = await app.start();
  if (app.generatedAdminToken) showAdminToken(app.generatedAdminToken, config.dataDir, log);
  const database = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite (${config.dataDir})`;
  const startMs = Math.round(performance.now() - startedAt);
  log.info({ url, database, startMs }, `Greenlight ready at ${url}/graphql on ${database} in ${startMs} ms`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${signal} received: finishing in-flight requests, then stopping.`);
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'Stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * The administrator token generated on a first start reaches the operator once, never the log: on
 * a terminal it is shown; otherwise (a container, a service manager: standard error is a log
 * there) it is written to a file only this user can read, and the log says where.
 */
function showAdminToken(token: string, dataDir: string, log: Logger): void {
  const intro = 'No administrator existed, so one was created.';
  if (process.stderr.isTTY || dataDir.startsWith('memory://')) {
    process.stderr.write(
      `\n${intro} Its token is shown only this once:\n\n  ${token}\n\nKeep it safe, or set ADMIN_TOKEN to choose your own.\n\n`,
    );
    return;
  }
  const file = join(dataDir, 'initial-admin-token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  log.warn({ file }, `${intro} Its token is in ${file} (readable by this user only): store it, then delete the file.`);
}

main().catch((error: unknown) => {
  // Start-up failures can come from statements (the bootstrap's, the redaction key's): made loggable first.
  console.error(error instanceof ConfigError || error instanceof StartupError ? error.message : loggableError(error));
  process.exit(1);
});

import { buildApp } from './app.js';
import { ConfigError, loadConfig, StartupError } from './config.js';
import { createLogger } from './observability/logger.js';

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
  if (app.generatedAdminToken) {
    // Shown to the operator once, on the terminal, never through the log.
    process.stderr.write(
      `\nNo administrator existed, so one was created. Its token is shown only this once:\n\n  ${app.generatedAdminToken}\n\n` +
        'Keep it safe, or set ADMIN_TOKEN to choose your own.\n\n',
    );
  }
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

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof StartupError ? error.message : error);
  process.exit(1);
});

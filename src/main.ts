import { buildApp } from './app.js';
import { ConfigError, loadConfig, StartupError } from './config.js';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadConfig();
  const app = await buildApp(config);
  const url = await app.start();
  if (app.generatedAdminToken) {
    console.log(
      `\nNo administrator existed, so one was created. Its token is shown only this once:\n\n  ${app.generatedAdminToken}\n\n` +
        'Keep it safe, or set ADMIN_TOKEN to choose your own.\n',
    );
  }
  const database = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite (${config.dataDir})`;
  console.log(`Greenlight ready at ${url}/graphql on ${database} in ${Math.round(performance.now() - startedAt)} ms`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: finishing in-flight requests, then stopping.`);
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Stop failed:', error);
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

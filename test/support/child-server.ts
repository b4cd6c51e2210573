import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { GraphQLResponse } from './app.js';

// A Greenlight server in a process of its own (`node --import tsx src/main.ts`, the sources as
// they are), for tests that kill it (SIGKILL reaches the server itself, not a wrapper) or give it
// a clock of its own. Settings come from the environment, as in production.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Settings a test's environment may carry that would leak into the child's configuration. */
const SETTINGS = [
  'DATABASE_URL',
  'DATA_DIR',
  'ADMIN_TOKEN',
  'PORT',
  'HOST',
  'AUDIT_SIGNING_KEY',
  'AUDIT_SIGNING_KEY_FILE',
  'RECEIPT_SIGNING_KEY',
  'RECEIPT_SIGNING_KEY_FILE',
  'SWEEP_INTERVAL_MS',
  'DATABASE_POOL_SIZE',
  'DATABASE_ACQUIRE_TIMEOUT_MS',
  'LOG_LEVEL',
  'LOG_FORMAT',
];

export interface ChildServer {
  child: ChildProcess;
  pid: number;
  /** `http://127.0.0.1:PORT` */
  url: string;
  wsUrl: string;
  /** The log line that said it was ready (JSON). */
  readyLine: string;
  /** The last lines of its standard output and error (for failure messages). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<number | null>;
  gql<T = any>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** SIGKILL (a crash: no handler runs), resolved once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful stop), resolved with the exit code. */
  stop(): Promise<number | null>;
}

export interface ChildServerOptions {
  /** Environment over the defaults (PORT=0, HOST=127.0.0.1, JSON logs at info). */
  env: Record<string, string>;
  /** Modules to preload with `--import`, before tsx (e.g. the clock offset). */
  preload?: string[];
}

const KEPT_LINES = 200;

/**
 * Every server process started here and still running: a test that fails or times out before it
 * holds the process (during start-up) must not leave it behind, so they die with this process.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the server and resolves once it logs its ready line (rejects if it exits first). */
export function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const inherited = { ...process.env };
  for (const name of SETTINGS) delete inherited[name];
  const preload = (options.preload ?? []).flatMap((module) => ['--import', module]);
  const child = spawn(process.execPath, [...preload, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...inherited, PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > KEPT_LINES) lines.shift();
  };
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  createInterface({ input: child.stderr! }).on('line', keep);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const ready = /ready at (http:\/\/\S+)\/graphql/.exec(line);
      if (!ready) return;
      const url = ready[1]!;
      resolve({
        child,
        pid: child.pid!,
        url,
        wsUrl: `${url.replace(/^http/, 'ws')}/graphql`,
        readyLine: line,
        output: () => lines.join('\n'),
        exited,
        gql: (token, query, variables) => postGraphQL(url, token, query, variables),
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`the server exited (${String(code)}) before it was ready:\n${lines.join('\n')}`)));
  });
}

/** POSTs a GraphQL operation to `url` over real HTTP. */
export async function postGraphQL<T = any>(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How `pg_ctl` stops the server: `fast` disconnects clients and shuts down cleanly; `immediate` is a crash. */
export type StopMode = 'fast' | 'immediate';

/**
 * A PostgreSQL cluster of the test's own, in a temporary folder, on a free loopback port: for
 * tests (and benchmarks) that stop and start the database under a running server. Built with the
 * server binaries of the machine's PostgreSQL (`pg_config --bindir`). PostgreSQL refuses to run as
 * root, so as root it runs as the `postgres` user.
 */
export interface PrivateCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** The cluster's folder (data in `data/`, server log in `log`). */
  dir: string;
  start(): Promise<void>;
  /** Stops the server; at once, as a crash would, unless `mode` is `fast`. */
  stop(mode?: StopMode): Promise<void>;
  /** `pg_ctl restart -m MODE`: the same port and data, back when it accepts connections. */
  restart(mode: StopMode): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

export interface PrivateClusterOptions {
  /**
   * Flush to disk as a production server does (`fsync=on`). Off by default: a test that stops
   * PostgreSQL (even with `-m immediate`) keeps the operating system's cache, so what committed
   * survives either way, and tests run faster without the flushes.
   */
  durable?: boolean;
  /** Further server settings, as `-c NAME=VALUE` (e.g. `shared_preload_libraries`). */
  settings?: Record<string, string | number>;
}

/** A loopback port free at the moment of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function createPrivateCluster(options: PrivateClusterOptions = {}): Promise<PrivateCluster> {
  const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-pg-'));
  const asRoot = process.getuid?.() === 0;
  const postgresUser = asRoot ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()) : null;
  if (postgresUser !== null) chownSync(dir, postgresUser, Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  const command = (binary: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bindir, binary), ...args]) : run(join(bindir, binary), args);
  await command('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const settings = { fsync: options.durable ? 'on' : 'off', ...options.settings };
  const flags = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`);
  const serverOptions = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', ...flags].join(' ');
  const data = join(dir, 'data');
  let running = false;
  const cluster: PrivateCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      await command('pg_ctl', ['-D', data, '-o', serverOptions, '-l', join(dir, 'log'), '-w', 'start']);
      running = true;
    },
    async stop(mode = 'immediate') {
      await command('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    async restart(mode) {
      await command('pg_ctl', ['-D', data, '-m', mode, '-o', serverOptions, '-l', join(dir, 'log'), '-w', 'restart']);
      running = true;
    },
    async destroy() {
      if (running) await cluster.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

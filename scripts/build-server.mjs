// Compiles the server (src/**/*.ts) to plain JavaScript in lib/, so that `npm start` runs node on
// JavaScript instead of compiling TypeScript at every start (tsx). Two forms:
// - lib/**: file for file, for tools that import single modules;
// - lib/bundle/: what `npm start` runs. The server and its dependencies in one module (plus the
//   audit reader thread's, and chunks loaded on first use, such as the MCP SDK), so a start reads
//   and compiles a few files instead of hundreds. PGlite (it finds its WebAssembly files beside its
//   own module) and pino (its transports load files by name) stay in node_modules.
// Both sit two levels below the root, as src/*/ does, so the paths the code finds from its own
// location (drizzle/, console/dist, package.json) hold in all three. Run by `npm install` (the
// prepare script) and by `npm start` when a source file is newer than the build.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'src');
const out = join(root, 'lib');

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) files.push(path);
  }
};
walk(source);

// Everything but the PGlite seed (scripts/build-pglite-seed.mjs), which does not depend on src/.
if (existsSync(out))
  for (const name of readdirSync(out)) if (!name.startsWith('pglite-seed')) rmSync(join(out, name), { recursive: true, force: true });
await build({
  entryPoints: files,
  outdir: out,
  outbase: source,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});

await build({
  entryPoints: { main: join(source, 'main.ts'), 'chain-reader-worker': join(source, 'audit', 'chain-reader-worker.ts') },
  outdir: join(out, 'bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@electric-sql/pglite', 'pino', 'pino-pretty', 'pg-native'],
  // Bundled CommonJS dependencies call require(): give the module one.
  banner: {
    js: "import { createRequire as __greenlightRequire } from 'node:module'; const require = __greenlightRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The moment of this build: `scripts/start.mjs` rebuilds when a source file is newer.
writeFileSync(join(out, '.built'), `${new Date().toISOString()}\n`);

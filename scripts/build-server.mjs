// Compiles the server (src/**/*.ts) to plain JavaScript in lib/, file for file, so that `npm start`
// runs node on JavaScript instead of compiling TypeScript at every start (tsx). lib/ sits at the
// same depth as src/, so the paths the code finds from its own location (drizzle/, console/dist,
// package.json) are the same in both. Run by `npm install` (the prepare script) and before tests.
import { build } from 'esbuild';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

rmSync(out, { recursive: true, force: true });
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

// The moment of this build: `scripts/start.mjs` rebuilds when a source file is newer.
writeFileSync(join(out, '.built'), `${new Date().toISOString()}\n`);

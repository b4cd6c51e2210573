// `npm start`: runs the compiled, bundled server (lib/bundle/main.js), so no TypeScript is compiled
// and few files are read at start-up.
// lib/ is built by `npm install`; when it is missing, or a file under src/ changed since it was
// built (a checkout being worked on), it is built again first (esbuild: under a second).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'lib', '.built');

/** The newest modification time of a file below `dir`. */
function newest(dir) {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    latest = Math.max(latest, stat.isDirectory() ? newest(path) : stat.mtimeMs);
  }
  return latest;
}

if (!existsSync(stamp) || newest(join(root, 'src')) > statSync(stamp).mtimeMs) await import('./build-server.mjs');
await import('../lib/bundle/main.js');

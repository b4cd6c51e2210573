import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_PATH = '/console';

/** Where `npm run build:console` puts the built console. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/**
 * The page may load and connect to nothing but this server: no CDN, no remote fonts, no other
 * origin for its API calls (`connect-src 'self'` covers the same host's WebSockets).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Serves the built console under /console: its files (hashed assets cached for a year), and
 * index.html for every other path below it (the console routes in the browser). GET and HEAD only.
 */
export function serveConsole(req: IncomingMessage, res: ServerResponse, dir: string = CONSOLE_DIR): void {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end('The console is not built: run `npm run build:console` (npm install does it).\n');
    return;
  }
  const path = decodeURIComponentSafe((req.url ?? '/').split('?')[0]!.slice(CONSOLE_PATH.length));
  if (path === '') {
    res.writeHead(301, { location: `${CONSOLE_PATH}/` }).end();
    return;
  }
  const file = path === null ? null : normalize(join(dir, path));
  const inside = file !== null && file.startsWith(dir + sep) && isFile(file);
  const isAsset = path?.startsWith('/assets/') ?? false;
  if (!inside && isAsset) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('Not found\n');
    return;
  }
  const served = inside ? file : index;
  res.writeHead(200, {
    'content-type': TYPES[extname(served)] ?? 'application/octet-stream',
    'cache-control': isAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  if (req.method === 'HEAD') return void res.end();
  // The file may vanish between the check and the read (a rebuild empties the folder): cut the answer, never the process.
  createReadStream(served)
    .on('error', () => res.destroy())
    .pipe(res);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function decodeURIComponentSafe(text: string): string | null {
  try {
    const decoded = decodeURIComponent(text);
    return decoded.includes('\0') ? null : decoded;
  } catch {
    return null;
  }
}

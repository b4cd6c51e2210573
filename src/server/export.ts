import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { exportAuditLog } from '../audit/export.js';
import { authenticateToken } from '../auth/principals.js';
import { hasRole } from '../auth/roles.js';
import { parseBearer } from '../auth/tokens.js';
import type { Deps } from '../deps.js';

export const AUDIT_EXPORT_PATH = '/audit/export';

function refuse(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
  res.end(JSON.stringify({ error: message }));
}

/**
 * `GET /audit/export?after=SEQ`: the sealed audit log as NDJSON, one event or checkpoint per line
 * (see `exportAuditLog`), for SIEMs and offline verification. Bearer auth, AUDITOR or ADMIN (an
 * ADMIN's export also carries the values behind redaction markers, outside the chain). The
 * response is streamed with backpressure; resume after an interruption with the last `seq` seen.
 */
export async function handleAuditExport(deps: Deps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const token = parseBearer(req.headers.authorization ?? '');
  const viewer = token ? await authenticateToken(deps.db, token) : null;
  if (!viewer) return refuse(res, 401, token ? 'The bearer token is unknown or revoked.' : 'Send "Authorization: Bearer <token>".');
  if (!hasRole(viewer, 'AUDITOR', 'ADMIN')) return refuse(res, 403, 'Exporting the audit log needs the AUDITOR or ADMIN role.');
  const after = url.searchParams.get('after') ?? '0';
  if (!/^\d{1,15}$/.test(after)) return refuse(res, 400, '"after" must be a seq: a whole number, 0 for the start.');

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  if (req.method === 'HEAD') return void res.end();
  const lines = Readable.from(
    (async function* () {
      for await (const line of exportAuditLog(deps.db, Number(after), { withRedacted: hasRole(viewer, 'ADMIN') }))
        yield `${JSON.stringify(line)}\n`;
    })(),
  );
  // pipeline waits for the client to drain before reading more, and tears the generator down
  // (closing its query loop) if the client goes away.
  await pipeline(lines, res).catch(() => undefined);
}

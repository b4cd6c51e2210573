import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { exportAuditLogAs } from '../audit/export.js';
import type { Deps } from '../deps.js';
import { NotAllowedError } from '../errors.js';
import { authenticateRequest, refuse } from './bearer.js';

export const AUDIT_EXPORT_PATH = '/audit/export';

/**
 * `GET /audit/export?after=SEQ`: the sealed audit log as NDJSON, one event or checkpoint per line
 * (see `exportAuditLog`), for SIEMs and offline verification. Bearer auth, AUDITOR or ADMIN (an
 * ADMIN's export also carries the values behind redaction markers, outside the chain). The
 * response is streamed with backpressure; resume after an interruption with the last `seq` seen.
 */
export async function handleAuditExport(deps: Deps, req: IncomingMessage, res: ServerResponse, trustProxy = false): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const session = await authenticateRequest(deps, req, res, trustProxy);
  if (!session) return;
  const after = url.searchParams.get('after') ?? '0';
  if (!/^\d{1,15}$/.test(after)) return refuse(res, 400, '"after" must be a seq: a whole number, 0 for the start.');
  let lines: AsyncGenerator<unknown>;
  try {
    lines = exportAuditLogAs(deps, session, Number(after));
  } catch (error) {
    if (error instanceof NotAllowedError) return refuse(res, 403, 'Exporting the audit log needs the AUDITOR or ADMIN role.');
    throw error;
  }

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  if (req.method === 'HEAD') return void res.end();
  const body = Readable.from(
    (async function* () {
      for await (const line of lines) yield `${JSON.stringify(line)}\n`;
    })(),
  );
  // pipeline waits for the client to drain before reading more, and tears the generator down
  // (closing its query loop) if the client goes away.
  await pipeline(body, res).catch(() => undefined);
}

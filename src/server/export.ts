import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toCloudEvent } from '../audit/cloudevents.js';
import { exportAuditLogAs, type ExportLine } from '../audit/export.js';
import type { Deps } from '../deps.js';
import { NotAllowedError } from '../errors.js';
import { authenticateRequest, refuse } from './bearer.js';

export const AUDIT_EXPORT_PATH = '/audit/export';

/**
 * `GET /audit/export?after=SEQ[&format=cloudevents]`: the sealed audit log as NDJSON, one event or
 * checkpoint per line (see `exportAuditLog`), or one CloudEvents 1.0 JSON event per line, for
 * SIEMs and offline verification. Bearer auth, AUDITOR or ADMIN (an
 * ADMIN's export also carries the values behind redaction markers, outside the chain). The
 * response is streamed with backpressure; resume after an interruption with the last `seq` seen.
 */
export async function handleAuditExport(deps: Deps, req: IncomingMessage, res: ServerResponse, trustProxy = false): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const session = await authenticateRequest(deps, req, res, trustProxy);
  if (!session) return;
  const after = url.searchParams.get('after') ?? '0';
  if (!/^\d{1,15}$/.test(after)) return refuse(res, 400, '"after" must be a seq: a whole number, 0 for the start.');
  const format = url.searchParams.get('format') ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'cloudevents') return refuse(res, 400, '"format" must be ndjson (the default) or cloudevents.');
  let lines: AsyncGenerator<ExportLine>;
  try {
    lines = exportAuditLogAs(deps, session, Number(after));
  } catch (error) {
    if (error instanceof NotAllowedError) return refuse(res, 403, 'Exporting the audit log needs the AUDITOR or ADMIN role.');
    throw error;
  }

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  if (req.method === 'HEAD') return void res.end();
  const source = `${deps.webhooks.publicUrl ?? ''}${AUDIT_EXPORT_PATH}`;
  const body = Readable.from(
    (async function* () {
      let time: string | null = null;
      for await (const line of lines) {
        if (format === 'ndjson') {
          yield `${JSON.stringify(line)}\n`;
          continue;
        }
        const event = toCloudEvent(line, source, time);
        time = event.time;
        yield `${JSON.stringify(event)}\n`;
      }
    })(),
  );
  // pipeline waits for the client to drain before reading more, and tears the generator down
  // (closing its query loop) if the client goes away.
  await pipeline(body, res).catch(() => undefined);
}

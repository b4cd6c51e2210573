import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isForbiddenAddress } from './addresses.js';

/** How long a delivery may take, connect to last byte. */
export const SEND_TIMEOUT_MS = 10_000;
/** How much of an answer is read (the rest is dropped): enough for an error message. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendResult {
  /** The HTTP status, or null when no answer came (refused, timed out, forbidden address). */
  statusCode: number | null;
  latencyMs: number;
  /** Why it failed; null for a 2xx answer. */
  error: string | null;
}

/**
 * POSTs one delivery. Redirects are not followed (a 3xx is a failure), the whole exchange is cut
 * after 10 s, at most 64 KiB of the answer is read, and unless private targets are allowed the
 * address is checked after DNS resolution, on the very answer the connection uses.
 */
export function send(url: string, headers: Record<string, string>, body: string, allowPrivate: boolean): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return resolve({ statusCode: null, latencyMs: 0, error: 'The URL is not valid.' });
    }
    const host = target.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup: check it here.
    if (!allowPrivate && isIP(host) && isForbiddenAddress(host)) {
      return resolve({ statusCode: null, latencyMs: 0, error: `${host} is a private or reserved address` });
    }
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
      target,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Greenlight-Webhooks/1',
        },
        lookup: guardedLookup(allowPrivate) as never,
        agent: false,
      },
      (response: IncomingMessage) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () => {
          const statusCode = response.statusCode ?? null;
          const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
          const redirect = statusCode !== null && statusCode >= 300 && statusCode < 400;
          finish({
            statusCode,
            latencyMs: elapsed(),
            error: ok ? null : redirect ? `HTTP ${statusCode}: redirects are not followed` : `HTTP ${statusCode}`,
          });
        };
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish({ statusCode: null, latencyMs: elapsed(), error: `No answer within ${SEND_TIMEOUT_MS / 1000} s` });
    }, SEND_TIMEOUT_MS);
    request.on('error', (error: NodeJS.ErrnoException) =>
      finish({
        statusCode: null,
        latencyMs: elapsed(),
        error: error.code === 'EFORBIDDEN' ? error.message : `${error.code ?? 'ERROR'}: ${error.message}`,
      }),
    );
    request.end(body);
  });
}

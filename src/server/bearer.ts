import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../auth/authenticator.js';
import { parseBearer } from '../auth/tokens.js';
import type { Deps } from '../deps.js';
import { AuthFailure, RateLimitedError, UnauthenticatedError } from '../errors.js';
import { clientAddress } from './client-address.js';
import { MAX_BODY_BYTES } from './http-limits.js';

/** Answers a plain HTTP route with a JSON error (`{ "error": message }`); 401 says `WWW-Authenticate: Bearer`. */
export function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    ...headers,
  });
  res.end(JSON.stringify({ error: message }));
}

/**
 * The session of the request's `Authorization: Bearer` token, through the same authenticator as
 * GraphQL (cache, revocation, failed-attempt throttle); null after answering 401 or 429.
 */
export async function authenticateRequest(
  deps: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  trustProxy: boolean,
): Promise<Session | null> {
  const secret = parseBearer(req.headers.authorization ?? '');
  if (!secret) {
    refuse(res, 401, AuthFailure.MISSING);
    return null;
  }
  try {
    return await deps.auth.authenticate(secret, clientAddress(req, trustProxy));
  } catch (error) {
    if (error instanceof UnauthenticatedError) refuse(res, 401, error.message);
    else if (error instanceof RateLimitedError) refuse(res, 429, error.message, { 'retry-after': String(error.retryAfter) });
    else throw error;
    return null;
  }
}

/** Why a JSON body was refused: the HTTP status and the message. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A POST's JSON body, at most MAX_BODY_BYTES (counted as it arrives, whatever Content-Length
 * says), with Content-Type application/json; else a BodyError. Past the limit the rest is not
 * read; answer with `Connection: close` (see `refuseBody`) so the socket is not reused.
 */
export function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return Promise.reject(new BodyError(415, 'POST a JSON body with Content-Type: application/json.'));
  const tooLarge = () => new BodyError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // Stop reading without destroying the socket, so the 413 can still be written.
      req.off('data', onData);
      req.pause();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('error', reject);
    req.once('end', () => {
      if (size > MAX_BODY_BYTES) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new BodyError(400, 'The request body is not valid JSON.'));
      }
    });
  });
}

/** Answers a refused body; a 413 closes the connection (the rest of the body was never read). */
export function refuseBody(res: ServerResponse, error: BodyError): void {
  refuse(res, error.status, error.message, error.status === 413 ? { connection: 'close' } : {});
}

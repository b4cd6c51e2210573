import type { IncomingMessage } from 'node:http';

/**
 * The address a request comes from, for per-address limits (failed authentications). Behind one
 * reverse proxy (TRUST_PROXY), every connection comes from the proxy: the client is then the
 * last address of `X-Forwarded-For`, the one that proxy appended. Earlier entries are whatever the
 * client claimed and are never trusted.
 */
export function clientAddress(req: IncomingMessage | undefined, trustProxy: boolean): string | undefined {
  if (!req) return undefined;
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.at(-1) : forwarded)?.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress;
}

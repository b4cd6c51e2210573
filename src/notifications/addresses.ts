import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook may not reach unless `WEBHOOK_ALLOW_PRIVATE=true`: loopback, private,
 * carrier-grade NAT, link-local (cloud metadata services live at 169.254.169.254 and
 * fd00:ec2::254), multicast, reserved and unspecified ranges, and IPv4 written inside IPv6.
 */
const FORBIDDEN_V4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  FORBIDDEN_V4.addSubnet(network, prefix, 'ipv4');
}
// Apart from the IPv4 list: a BlockList holding IPv6 ranges of mapped addresses would match every
// IPv4 address checked against it. IPv4 carried in IPv6 is taken out and checked as IPv4 instead.
const FORBIDDEN_V6 = new BlockList();
for (const [network, prefix] of [
  // IPv4-translated, local-use NAT64, 6to4 and discard-only: forms that reach IPv4 or nowhere.
  ['::ffff:0:0:0', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
  ['100::', 64],
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const) {
  FORBIDDEN_V6.addSubnet(network, prefix, 'ipv6');
}

/** IPv4 inside IPv6 (`::ffff:127.0.0.1`, `::127.0.0.1` = `::7f00:1`, NAT64 `64:ff9b::7f00:1`): the IPv4 address it carries. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return null;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** Whether a webhook may not connect to `address` (an IP literal) when private addresses are refused. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN_V4.check(address, 'ipv4');
  if (family !== 6) return true;
  const inner = embeddedIpv4(address);
  if (inner !== null) return isForbiddenAddress(inner);
  return FORBIDDEN_V6.check(address, 'ipv6');
}

export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError';
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | { address: string; family: number }[],
  family?: number,
) => void;

/**
 * A `lookup` for `http.request` that resolves the name once and refuses the connection if any
 * address it resolves to is forbidden: the check and the connection use the same answer, so DNS
 * rebinding between them gains nothing.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = allowPrivate ? undefined : addresses.find((entry) => isForbiddenAddress(entry.address));
      if (refused) {
        return callback(
          Object.assign(new ForbiddenAddressError(`${hostname} resolves to ${refused.address}, a private or reserved address`), {
            code: 'EFORBIDDEN',
          }),
          [],
        );
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      return first
        ? callback(null, first.address, first.family)
        : callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    });
  };
}

/** Resolves a URL's host (or takes its IP literal) and says why it may not be a webhook target, if it may not. */
export async function targetProblem(url: URL, allowPrivate: boolean): Promise<string | null> {
  if (allowPrivate) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isForbiddenAddress(host) ? `${host} is a private or reserved address` : null;
  const addresses = await new Promise<{ address: string }[]>((resolve) =>
    dnsLookup(host, { all: true }, (error, found) => resolve(error ? [] : found)),
  );
  if (addresses.length === 0) return `${host} does not resolve`;
  const refused = addresses.find((entry) => isForbiddenAddress(entry.address));
  return refused ? `${host} resolves to ${refused.address}, a private or reserved address` : null;
}

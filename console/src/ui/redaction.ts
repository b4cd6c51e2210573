/** How the server writes a redacted value: `[redacted:hmac-sha256:…]`. */
export const isMarker = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith('[redacted:hmac-sha256:') && value.endsWith(']') && value.length < 128;

/** Whether `path` (e.g. ['params', 'db', 'password']) is one the policy redacts (`params.db.*`). */
export function isRedactedPath(path: readonly string[], redactPaths: readonly string[]): boolean {
  return redactPaths.some((pattern) => {
    const parts = pattern.split('.');
    return parts.length === path.length && parts.every((part, i) => part === '*' || part === path[i]);
  });
}

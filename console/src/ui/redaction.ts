// A fixed-length pattern with no alternation or nested quantifier: it cannot backtrack.
const MARKER = /^\[redacted:hmac-sha256:[A-Za-z0-9_-]{43}\]$/;

/** How the server writes a redacted value: `[redacted:hmac-sha256:` and a base64url HMAC-SHA256 `]`. */
export const isMarker = (value: unknown): value is string => typeof value === 'string' && value.length === 66 && MARKER.test(value);

/** Whether `path` (e.g. ['params', 'db', 'password']) is one the policy redacts (`params.db.*`). */
export function isRedactedPath(path: readonly string[], redactPaths: readonly string[]): boolean {
  return redactPaths.some((pattern) => {
    const parts = pattern.split('.');
    return parts.length === path.length && parts.every((part, i) => part === '*' || part === path[i]);
  });
}

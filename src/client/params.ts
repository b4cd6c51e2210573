import canonicalize from 'canonicalize';

/** How Greenlight shows a value a policy redacts (`[redacted:hmac-sha256:…]`), to everyone but ADMIN. */
const MARKER_PREFIX = '[redacted:hmac-sha256:';

const isMarker = (value: unknown): value is string => typeof value === 'string' && value.startsWith(MARKER_PREFIX) && value.endsWith(']');
const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] => typeof value === 'object' && value !== null;

/** Whether `params` holds redaction markers anywhere. */
export function holdsMarkers(value: unknown): boolean {
  if (isMarker(value)) return true;
  return isContainer(value) && Object.values(value).some(holdsMarkers);
}

/**
 * The approved params with each redaction marker replaced by the agent's own value at the same
 * path (the agent holds its secrets; Greenlight shows it their markers). Null when a marker has no
 * value of the agent's behind it.
 */
export function withOwnValues(approved: unknown, own: unknown): unknown {
  if (isMarker(approved)) return own === undefined || isMarker(own) ? null : own;
  if (!isContainer(approved)) return approved;
  const ownContainer = isContainer(own) ? (own as Record<string, unknown>) : {};
  const entries = Object.entries(approved).map(([key, value]) => [key, withOwnValues(value, ownContainer[key])] as const);
  if (entries.some(([key, value]) => value === null && (approved as Record<string, unknown>)[key] !== null)) return null;
  return Array.isArray(approved) ? entries.map(([, value]) => value) : Object.fromEntries(entries);
}

/** Whether two params objects are the same JSON (RFC 8785 canonical form; `{}` for none). */
export function sameParams(a: unknown, b: unknown): boolean {
  return canonicalize(a ?? {}) === canonicalize(b ?? {});
}

/** The line a model is given when a reviewer approved other params than the tool's input maps to. */
export function paramsChangedMessage(action: string, resource: string, requestId: string, approved: unknown): string {
  const shown = JSON.stringify(approved ?? {});
  return `A reviewer approved ${action} on ${resource} (request ${requestId}) with changed params: ${shown.length > 500 ? `${shown.slice(0, 500)}…` : shown}. The tool was not run with your input; call it again with the approved params if they suit the task.`;
}

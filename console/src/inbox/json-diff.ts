/** One difference between the agent's params and a reviewer's changed ones, by JSON path. */
export interface Change {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `params.replicas`, `params.hosts[2]`, `params["odd key"]`. */
function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * The differences between two JSON values, path by path (objects by key, arrays by index), at most
 * `limit` of them. Linear in the size of the values; depth is bounded by the server's limits.
 */
export function diffJson(before: unknown, after: unknown, path = 'params', limit = 200): Change[] {
  const changes: Change[] = [];
  const walk = (a: unknown, b: unknown, at: string, depth: number): void => {
    if (changes.length >= limit) return;
    if (isObject(a) && isObject(b) && depth < 64) {
      for (const key of Object.keys(a)) {
        if (!Object.hasOwn(b, key)) changes.push({ path: child(at, key), kind: 'removed', before: a[key] });
        else walk(a[key], b[key], child(at, key), depth + 1);
      }
      for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) changes.push({ path: child(at, key), kind: 'added', after: b[key] });
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && depth < 64) {
      const length = Math.max(a.length, b.length);
      for (let i = 0; i < length; i++) {
        if (i >= b.length) changes.push({ path: child(at, i), kind: 'removed', before: a[i] });
        else if (i >= a.length) changes.push({ path: child(at, i), kind: 'added', after: b[i] });
        else walk(a[i], b[i], child(at, i), depth + 1);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) changes.push({ path: at, kind: 'changed', before: a, after: b });
  };
  walk(before ?? {}, after ?? {}, path, 0);
  return changes.slice(0, limit);
}

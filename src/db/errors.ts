/** PostgreSQL SQLSTATE for a unique constraint violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * True when `error` (or the error it wraps: drizzle wraps driver errors in `cause`) is a unique
 * violation of the named constraint or index.
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (let current = error; current instanceof Object; current = (current as { cause?: unknown }).cause) {
    const { code, constraint: name } = current as { code?: unknown; constraint?: unknown };
    if (code === UNIQUE_VIOLATION) return constraint === undefined || name === constraint;
    if (!('cause' in current)) break;
  }
  return false;
}

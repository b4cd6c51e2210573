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

/** Messages node-postgres gives when a connection cannot be had or was lost (they carry no SQLSTATE). */
const CONNECTION_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'connection terminated',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
];
/** Socket errors of a connection that could not be opened or broke. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * True when `error` (or what it wraps) says the database cannot be reached right now rather than
 * that a statement was wrong: no free connection within the pool's timeout, a refused or broken
 * connection, a server shutting down or starting (SQLSTATE class 08, 57P01–57P03) or out of
 * connections (53300). Such a failure is worth retrying; nothing about the input was at fault.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Drizzle wraps the driver's error in `cause`; graphql-js wraps a resolver's in `originalError`.
  const inner = (value: object): unknown => (value as { cause?: unknown }).cause ?? (value as { originalError?: unknown }).originalError;
  for (let current = error, depth = 0; current instanceof Object && depth < 5; current = inner(current), depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (
      typeof code === 'string' &&
      (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code) || SOCKET_CODES.has(code))
    )
      return true;
    if (typeof message === 'string' && CONNECTION_MESSAGES.some((text) => message.startsWith(text))) return true;
  }
  return false;
}

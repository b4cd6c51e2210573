/**
 * What may be written to logs. A failed statement's error carries its bind parameters (request
 * params, token hashes, values a policy redacts) and PostgreSQL's `detail` quotes row values
 * ("Key (token_hash)=(…) already exists"): neither is ever logged. What is kept is enough to
 * find the fault: the error's kind, message and code, the statement's text, the constraint.
 */

/** The fields of a database error that name the fault without quoting any value. */
const SAFE_FIELDS = ['code', 'severity', 'constraint', 'table', 'column', 'routine'] as const;

/** A copy of `error` fit for a log: messages and statement text, never bind parameters or values. */
export function loggableError(error: unknown, depth = 0): unknown {
  // Past five causes, or a thrown non-error (an object could hold anything): named, not written.
  if (depth > 5) return new Error('(further causes not logged)');
  if (!(error instanceof Error))
    return typeof error === 'string' ? withoutParams(error) : new Error(`A thrown ${typeof error} (not logged)`);
  const record = error as Error & { query?: unknown; params?: unknown; cause?: unknown; originalError?: unknown };
  // A GraphQL error wrapping a failed statement repeats its message: the wrapped error is logged instead.
  if (record.originalError instanceof Error) return loggableError(record.originalError, depth + 1);
  const message =
    typeof record.query === 'string' && 'params' in record
      ? `Failed query: ${record.query} (${countOf(record.params)} parameters not logged)`
      : dataErrorText(record as { code?: unknown }, withoutParams(error.message));
  const safe = new Error(message) as Error & Record<string, unknown>;
  safe.name = error.name;
  // The stack's frames only: its first lines repeat the original message, parameters included.
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  safe.stack = [`${error.name}: ${message}`, ...frames].join('\n');
  for (const field of SAFE_FIELDS) if (field in record) safe[field] = (record as unknown as Record<string, unknown>)[field];
  if (record.cause !== undefined) safe.cause = loggableError(record.cause, depth + 1);
  return safe;
}

/**
 * PostgreSQL's data errors (SQLSTATE class 22: invalid input syntax, value out of range…) quote
 * the value they refused: the quoted part is cut.
 */
const dataErrorText = (error: { code?: unknown }, message: string) =>
  typeof error.code === 'string' && error.code.startsWith('22') ? message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"') : message;

const countOf = (params: unknown) => (Array.isArray(params) ? params.length : 0);

/** Drizzle's message for a failed statement ends with its parameters: whatever carries it, they are cut. */
const withoutParams = (message: string) => message.replace(/\nparams: [\s\S]*$/, '\n(parameters not logged)');

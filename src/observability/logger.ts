import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import { loggableError } from '../logging.js';
import { isDatabaseUnavailable } from '../db/errors.js';

/** The service's structured logger (pino): one per app, built by `createLogger`. */
export type Logger = PinoLogger;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** The least severe level written; false writes nothing. Default `info`. */
  level?: LogLevel | false;
  /** Where lines go (default standard output). */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON (default: when standard output is a terminal). */
  pretty?: boolean;
}

/**
 * Fields that may hold a credential or a value a policy redacts, at the top of a line's fields or
 * up to two levels down: replaced before a line is written. Nothing logs them on purpose (errors pass through
 * `loggableError`, requests are logged by their facts only); this is the second line.
 */
const SECRET_NAMES = ['authorization', 'cookie', 'token', 'tokenHash', 'adminToken', 'secret', 'signingKey', 'password', 'params'];
const REDACTED_PATHS = [...SECRET_NAMES, ...SECRET_NAMES.map((name) => `*.${name}`), ...SECRET_NAMES.map((name) => `*.*.${name}`)];

/**
 * A logger writing one JSON object per line (`time`, `level`, `msg` and the fields given), or
 * human-readable lines through pino-pretty. Errors logged as `err` are first made loggable: their
 * messages and statements, never bind parameters or row values.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const prettyLines = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const destination =
    options.destination && !prettyLines
      ? options.destination
      : prettyLines
        ? pretty({ colorize: options.destination === undefined, destination: options.destination ?? 1, sync: true })
        : undefined;
  const settings = {
    level: level === false ? 'silent' : level,
    base: undefined,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: (error: unknown) => pino.stdSerializers.err(loggableError(error) as Error) },
  };
  return destination ? pino(settings, destination) : pino(settings);
}

/** Logs an unexpected error of one part of the service (`scope`), made loggable first. */
export function logError(log: Logger, scope: string, error: unknown, context?: string): void {
  // The database out of reach is an outage, not a bug: a short warning (readiness reports it too).
  if (isDatabaseUnavailable(error))
    log.warn({ scope, reason: (error as Error).message }, `${context ?? `${scope} failed`}: database unavailable`);
  else log.error({ scope, err: error }, context ?? `${scope} failed`);
}

/**
 * Yoga's logger over the app's: Yoga logs the unexpected errors it masks (and its own debug
 * lines); each argument that is an error is made loggable.
 */
export function yogaLogger(log: Logger) {
  const write =
    (level: LogLevel) =>
    (...args: unknown[]) => {
      const error = args.find((arg) => arg instanceof Error);
      const text = args
        .filter((arg) => !(arg instanceof Error))
        .map((arg) => (typeof arg === 'string' ? arg : ''))
        .join(' ')
        .trim();
      // A database out of reach fails every request until it is back: one short line each, not a stack.
      if (error && isDatabaseUnavailable(error)) log.warn({ scope: 'graphql', reason: error.message }, 'database unavailable');
      else if (error) log[level]({ scope: 'graphql', err: error }, text || 'GraphQL error');
      else log[level]({ scope: 'graphql' }, text || 'GraphQL');
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

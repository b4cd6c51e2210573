import { ConfigError, loadCliConfig } from '../config.js';
import { callGraphQL, type ServerOptions } from './graphql-client.js';

/** Exit codes of every command: success, a failure it reports (refused, broken, different), a usage or connection problem. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** An option a command takes: a string, a repeatable string, or a flag. */
export type OptionSpec = { type: 'string'; multiple?: boolean } | { type: 'boolean' };

/** What a command's `run` receives: its positional arguments, its options, and whether to print JSON. */
export interface CommandInput {
  args: string[];
  values: Record<string, string | string[] | boolean | undefined>;
  json: boolean;
}

/** One `greenlight AREA COMMAND`: its help and how to run it. */
export interface CliCommand {
  /** The arguments and options, as shown in help, e.g. `ID [--reason TEXT]`. */
  usage: string;
  /** One line: what it does. */
  summary: string;
  /** More lines of help (each option, what it prints). */
  details?: string[];
  /** How many positional arguments it takes. */
  positionals: number;
  options: Record<string, OptionSpec>;
  run(input: CommandInput): Promise<number>;
}

/** The server to talk to (GREENLIGHT_URL, GREENLIGHT_TOKEN). */
export function server(roles: string): ServerOptions {
  const config = loadCliConfig();
  if (!config.token) throw new ConfigError(`GREENLIGHT_TOKEN is not set: the server needs ${roles} token.`);
  return { url: config.serverUrl, token: config.token };
}

/** A mutation payload's typed errors, as every mutation returns them. */
export interface PayloadErrors {
  errors: { __typename: string; message: string; problems?: { field: string; message: string }[] }[];
}

/** The selection of a payload's errors, InvalidInputError's problems included. */
export const ERRORS = 'errors { __typename message ... on InvalidInputError { problems { field message } } }';

/**
 * Runs a mutation and prints its result: the payload as JSON with `--json`, else `describe`'s lines;
 * typed errors go to standard error (or into the JSON) and exit 1.
 */
export async function mutate<T extends PayloadErrors>(
  roles: string,
  field: string,
  query: string,
  variables: Record<string, unknown>,
  json: boolean,
  describe: (payload: T) => string[],
): Promise<number> {
  const data = await callGraphQL<Record<string, T>>(server(roles), query, variables);
  const payload = data[field]!;
  if (json) {
    console.log(JSON.stringify(payload, null, 2));
    return payload.errors.length > 0 ? EXIT.failed : EXIT.ok;
  }
  if (payload.errors.length > 0) {
    for (const error of payload.errors) {
      console.error(`✗ ${error.__typename}: ${error.message}`);
      for (const problem of error.problems ?? []) console.error(`    ${problem.field}: ${problem.message}`);
    }
    return EXIT.failed;
  }
  for (const line of describe(payload)) console.log(line);
  return EXIT.ok;
}

/** Runs a query and prints `pick(data)`: as JSON with `--json`, else `describe`'s lines. */
export async function query<T, R>(
  roles: string,
  text: string,
  variables: Record<string, unknown>,
  json: boolean,
  pick: (data: T) => R,
  describe: (result: R) => string[],
): Promise<number> {
  const result = pick(await callGraphQL<T>(server(roles), text, variables));
  if (json) console.log(JSON.stringify(result, null, 2));
  else for (const line of describe(result)) console.log(line);
  return EXIT.ok;
}

/** A string option's value(s) as a list (a repeatable option, or a comma-separated one). */
export function list(value: string | string[] | boolean | undefined): string[] | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  return (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')).filter((item) => item.length > 0);
}

/** A string option's value. */
export function text(value: string | string[] | boolean | undefined): string | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  return Array.isArray(value) ? value.at(-1) : value;
}

/** A required string option, or a usage error naming it. */
export function required(values: CommandInput['values'], name: string): string {
  const value = text(values[name]);
  if (value === undefined || value === '') throw new ConfigError(`--${name} is required`);
  return value;
}

/** `--label key=value` options as an object. */
export function labels(value: string | string[] | boolean | undefined): Record<string, string> | undefined {
  const items = list(value);
  if (!items) return undefined;
  return Object.fromEntries(
    items.map((item) => {
      const at = item.indexOf('=');
      if (at <= 0) throw new ConfigError(`--label must be key=value, not "${item}"`);
      return [item.slice(0, at), item.slice(at + 1)];
    }),
  );
}

/** A whole-number option. */
export function whole(value: string | string[] | boolean | undefined, name: string): number | undefined {
  const raw = text(value);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`--${name} must be a whole number`);
  return Number(raw);
}

/** Rows as aligned columns, a header first. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

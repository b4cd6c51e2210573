import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { DELEGATION_COMMANDS, PRINCIPAL_COMMANDS, TOKEN_COMMANDS, WEBHOOK_COMMANDS } from './admin-commands.js';
import { audit, AUDIT_OPTIONS, POLICY_OPTIONS } from './audit-commands.js';
import { EXIT, type CliCommand } from './command.js';
import { RefusedError, ServerError } from './graphql-client.js';
import { POLICY_COMMANDS } from './policy-commands.js';

/** Every area but `audit` (whose forms share their options) and `serve`: commands with their own help and options. */
const AREAS: Record<string, Record<string, CliCommand>> = {
  principal: PRINCIPAL_COMMANDS,
  token: TOKEN_COMMANDS,
  delegation: DELEGATION_COMMANDS,
  policy: POLICY_COMMANDS,
  webhook: WEBHOOK_COMMANDS,
};

const AUDIT_HELP = `Audit commands (GREENLIGHT_TOKEN of an AUDITOR or ADMIN):
  audit verify [--from N] [--to N]
                         Have the server recompute the audit hash chain and check its signed
                         checkpoints; exits 1 when the log is broken, naming the first broken seq.
  audit export [--after N] [--out FILE] [--format ndjson|cloudevents]
                         Download the sealed audit log as NDJSON (GET /audit/export), streamed to
                         FILE or stdout; a summary goes to stderr. Resume with --after (the last
                         seq you have). --format cloudevents: one CloudEvents 1.0 event per line.
  audit verify --file FILE [--key JWK_FILE] [--checkpoint SEQ:HASH]
                         Verify an export offline: recompute its hash chain and check its signed
                         checkpoints; exits 1 when it is broken or nothing trusted vouches for it.
                         --key: trusted public key(s), one JWK as served at
                         /.well-known/greenlight-audit-key.json, or {"keys":[…]}; without it, the
                         key is fetched from GREENLIGHT_URL. --checkpoint: a checkpoint obtained
                         elsewhere that the export must reach.`;

const COMMON = `Every command talks to the server at GREENLIGHT_URL (default http://127.0.0.1:4000) with
GREENLIGHT_TOKEN, except policy validate, policy test and serve. --json prints the result as JSON;
--help shows a command's help.

Exit codes: 0 success, 1 refused or failed (the server refusing the caller, a policy, a test, the
audit log, an export file, a mutation's errors, or a diff that found changes), 2 usage or connection problem.`;

const line = (area: string, name: string, command: CliCommand) =>
  `  ${`${area} ${name} ${command.usage}`.trimEnd()}\n${' '.repeat(25)}${command.summary}`;

/** The help of every command, or of one area. */
export function usage(only?: string): string {
  const sections = Object.entries(AREAS)
    .filter(([area]) => !only || area === only)
    .map(([area, commands]) =>
      Object.entries(commands)
        .map(([name, command]) => line(area, name, command))
        .join('\n'),
    );
  const serve = '  serve                  Start the server (the API, the console), as npm start does; configured by its environment.';
  const parts = only ? sections : ['Usage: greenlight <area> <command> [options] [--json]', serve, ...sections, AUDIT_HELP];
  return `${parts.join('\n\n')}\n\n${COMMON}`;
}

/** One command's help: its usage, what it does and its details. */
function commandHelp(area: string, name: string, command: CliCommand): string {
  const synopsis = `Usage: greenlight ${area} ${name}${command.usage ? ` ${command.usage}` : ''} [--json]`;
  return [synopsis, '', command.summary, ...(command.details ?? []), '', COMMON].join('\n');
}

/** Runs one command of an area with its own options; anything else is a usage error. */
async function runCommand(area: string, argv: string[]): Promise<number> {
  const commands = AREAS[area]!;
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    if (name === '--help' || name === '-h') {
      console.log(usage(area));
      return EXIT.ok;
    }
    console.error(`${name === undefined ? '' : `Unknown command "${area} ${name}".\n\n`}${usage(area)}`);
    return EXIT.usage;
  }
  const { positionals, values } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values['help']) {
    console.log(commandHelp(area, name!, command));
    return EXIT.ok;
  }
  if (positionals.length !== command.positionals) {
    console.error(
      `greenlight ${area} ${name} takes ${command.positionals || 'no'} argument${command.positionals === 1 ? '' : 's'}.\n\n${commandHelp(area, name!, command)}`,
    );
    return EXIT.usage;
  }
  return command.run({ args: positionals, values, json: values['json'] === true });
}

async function runAudit(argv: string[]): Promise<number> {
  const options = Object.fromEntries([...POLICY_OPTIONS, ...AUDIT_OPTIONS].map((name) => [name, { type: 'string' as const }]));
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(`${AUDIT_HELP}\n\n${COMMON}`);
    return EXIT.ok;
  }
  const { json, help: _help, ...rest } = values;
  return audit(positionals[0], positionals.slice(1), rest as Record<string, string>, json === true, `${AUDIT_HELP}\n\n${COMMON}`);
}

export async function main(argv: string[]): Promise<number> {
  const [area, ...rest] = argv;
  if (area === undefined) {
    console.error(usage());
    return EXIT.usage;
  }
  if (area === '--help' || area === '-h' || area === 'help') {
    console.log(usage());
    return EXIT.ok;
  }
  if (area === 'serve') {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(
        'Usage: greenlight serve\n\nStarts the server (the API and the console), as npm start does. Configured by its environment (see the README).',
      );
      return EXIT.ok;
    }
    if (rest.length > 0) {
      console.error('greenlight serve takes no arguments: it is configured by its environment (PORT, DATABASE_URL…; see the README).');
      return EXIT.usage;
    }
    // The server runs until a signal stops it (it exits the process itself).
    await import('../main.js');
    return new Promise<number>(() => undefined);
  }
  if (area === 'audit') return runAudit(rest);
  if (AREAS[area]) return runCommand(area, rest);
  console.error(`Unknown area "${area}".\n\n${usage()}`);
  return EXIT.usage;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const code = (error as { code?: string }).code;
    if (error instanceof RefusedError) {
      console.error(`✗ refused: ${error.message}`);
      process.exit(EXIT.failed);
    }
    if (error instanceof ConfigError || error instanceof ServerError || code?.startsWith('ERR_PARSE_ARGS') || code === 'ENOENT') {
      console.error((error as Error).message);
    } else {
      console.error(error);
    }
    process.exit(EXIT.usage);
  },
);

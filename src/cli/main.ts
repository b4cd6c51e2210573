import { parseArgs } from 'node:util';
import { ConfigError, loadCliConfig } from '../config.js';
import type { AuditPublicJwk } from '../audit/keys.js';
import {
  afterOption,
  AUDIT_KEY_PATH,
  checkpointOption,
  exportAudit,
  exportFileReader,
  fetchServerKeys,
  readKeyFile,
  verifyExportFile,
} from './audit-export.js';
import { fetchAuditVerification, formatAuditVerification, formatExportVerification, seqOption } from './audit-verify.js';
import { callGraphQL, ServerError, type ServerOptions } from './graphql-client.js';
import { formatIssue, loadPolicyFile } from './policy-file.js';
import { runPolicyTests } from './policy-test.js';

const USAGE = `Usage: npm run cli -- policy <command> FILE [options]
       npm run cli -- audit verify [--from N] [--to N]
       npm run cli -- audit export [--after N] [--out FILE] [--format cloudevents]
       npm run cli -- audit verify --file FILE [--key JWK_FILE] [--checkpoint SEQ:HASH]

Policy commands:
  validate FILE          Check a policy file (YAML or JSON) exactly as publishing would.
  test FILE              Run a file of test cases against the policy it names; exits 1 on a failure.
  publish FILE           Publish the policy to the server (GREENLIGHT_URL, GREENLIGHT_TOKEN).
                         --message TEXT  --expected-version N
  replay FILE            Replay the policy as a draft over recorded requests on the server.
                         --since ISO  --until ISO  --limit N

Audit commands:
  verify                 Have the server recompute the audit hash chain and check its signed
                         checkpoints (GREENLIGHT_URL, GREENLIGHT_TOKEN of an AUDITOR or ADMIN);
                         exits 1 when the log is broken, naming the first broken seq.
                         --from N  --to N   (seq range, default: every sealed event)
  export                 Download the sealed audit log as NDJSON (GET /audit/export; GREENLIGHT_URL,
                         GREENLIGHT_TOKEN of an AUDITOR or ADMIN), streamed to FILE or stdout;
                         a summary goes to stderr. Resume an interrupted export with --after.
                         --after N  (the last seq you have, default 0)  --out FILE
                         --format cloudevents  (one CloudEvents 1.0 JSON event per line instead)
  verify --file FILE     Verify an export offline: recompute its hash chain and check its signed
                         checkpoints; exits 1 when it is broken or nothing trusted vouches for it.
                         --key JWK_FILE        trusted public key(s): one JWK as served at
                                               /.well-known/greenlight-audit-key.json, or {"keys":[…]};
                                               without it, the key is fetched from GREENLIGHT_URL
                         --checkpoint SEQ:HASH a checkpoint obtained elsewhere that the export must reach

Exit codes: 0 success, 1 the policy, a test, the audit log or an export file failed (or nothing vouches
for the export), 2 usage or connection problem.`;

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function server(roles = 'an ADMIN (or AUDITOR, for replay)'): ServerOptions {
  const config = loadCliConfig();
  if (!config.token) throw new ConfigError(`GREENLIGHT_TOKEN is not set: the server needs ${roles} token.`);
  return { url: config.serverUrl, token: config.token };
}

function validate(file: string): number {
  const { document, issues } = loadPolicyFile(file);
  if (issues.length > 0 || !document) {
    for (const issue of issues) console.error(`✗ ${formatIssue(issue)}`);
    console.error(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`);
    return EXIT.failed;
  }
  console.log(`✓ ${file}: ${document.rules.length} rules, default ${document.defaultEffect}`);
  return EXIT.ok;
}

function test(file: string): number {
  const run = runPolicyTests(file);
  for (const problem of run.fileProblems) console.error(`✗ ${problem}`);
  if (run.fileProblems.length > 0) return EXIT.failed;
  for (const result of run.results) {
    if (result.passed) {
      console.log(`✓ ${result.name}`);
    } else {
      console.log(`✗ ${result.name}`);
      for (const problem of result.problems) console.log(`    ${problem}`);
      console.log(`    explanation: ${result.evaluation.explanation}`);
    }
  }
  const failed = run.results.filter((r) => !r.passed).length;
  console.log(`${run.results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

async function publish(file: string, options: { message?: string | undefined; expectedVersion?: number | undefined }): Promise<number> {
  const { document, issues } = loadPolicyFile(file);
  if (!document || issues.length > 0) return validate(file);
  const data = await callGraphQL<{
    publishPolicy: { policy: { version: number } | null; errors: { __typename: string; message: string }[] };
  }>(
    server(),
    `mutation($input: PublishPolicyInput!) { publishPolicy(input: $input) { policy { version } errors { __typename message } } }`,
    { input: { ...document, message: options.message, expectedVersion: options.expectedVersion } },
  );
  const { policy, errors } = data.publishPolicy;
  for (const error of errors) console.error(`✗ ${error.__typename}: ${error.message}`);
  if (!policy) return EXIT.failed;
  console.log(`✓ published version ${policy.version}`);
  return EXIT.ok;
}

async function replay(
  file: string,
  options: { since?: string | undefined; until?: string | undefined; limit?: number | undefined },
): Promise<number> {
  const { document, issues } = loadPolicyFile(file);
  if (!document || issues.length > 0) return validate(file);
  const data = await callGraphQL<{ replayPolicy: Record<string, unknown> & { changes: { from: string; to: string; count: number }[] } }>(
    server(),
    `query($input: ReplayPolicyInput!) {
      replayPolicy(input: $input) {
        evaluated truncated changed reviewerLoadChange escalationsBefore escalationsAfter
        changes { from to count }
        samples { from to request { id action resource createdAt } }
      }
    }`,
    // Redaction does not change decisions; the draft input has no place for it.
    {
      input: {
        rules: document.rules,
        defaultEffect: document.defaultEffect,
        since: options.since,
        until: options.until,
        limit: options.limit,
      },
    },
  );
  const result = data.replayPolicy;
  console.log(
    `replayed ${result['evaluated']} requests${result['truncated'] ? ' (truncated by --limit)' : ''}: ${result['changed']} decisions change`,
  );
  for (const change of result.changes) console.log(`  ${change.from} → ${change.to}: ${change.count}`);
  console.log(
    `reviewer load: ${result['escalationsBefore']} → ${result['escalationsAfter']} escalations (${Number(result['reviewerLoadChange']) >= 0 ? '+' : ''}${result['reviewerLoadChange']})`,
  );
  console.log(JSON.stringify(result['samples'], null, 2));
  return EXIT.ok;
}

async function auditVerify(range: { from?: number | undefined; to?: number | undefined }): Promise<number> {
  const result = await fetchAuditVerification(server('an AUDITOR or ADMIN'), range);
  for (const line of formatAuditVerification(result)) console.log(line);
  return result.ok ? EXIT.ok : EXIT.failed;
}

async function auditExport(options: { after: number; out?: string | undefined; format?: string | undefined }): Promise<number> {
  const format = options.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'cloudevents') throw new ConfigError('--format must be ndjson or cloudevents');
  const summary = await exportAudit(server('an AUDITOR or ADMIN'), options.after, options.out, format);
  const resume = summary.lastSeq === null ? 'no sealed events after seq ' + options.after : `last seq ${summary.lastSeq}`;
  console.error(
    `✓ exported ${summary.lines} line${summary.lines === 1 ? '' : 's'} (${summary.bytes} bytes) to ${options.out ?? 'stdout'}; ${resume}`,
  );
  return EXIT.ok;
}

async function auditVerifyFile(file: string, options: { key?: string | undefined; checkpoint?: string | undefined }): Promise<number> {
  const anchor = checkpointOption(options.checkpoint);
  const read = exportFileReader(file); // refuses an unreadable file before any key is fetched
  let keys: { jwks: AuditPublicJwk[]; source: string };
  if (options.key !== undefined) {
    keys = { jwks: readKeyFile(options.key), source: `from ${options.key}` };
  } else {
    const url = loadCliConfig().serverUrl.replace(/\/+$/, '');
    keys = {
      jwks: await fetchServerKeys(url),
      source: `fetched from ${url}${AUDIT_KEY_PATH}; pass --key JWK_FILE to verify fully offline`,
    };
  }
  const result = await verifyExportFile(file, read, keys, anchor);
  for (const line of formatExportVerification(result)) console.log(line);
  return result.ok ? EXIT.ok : EXIT.failed;
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(`--${name} must be a whole number`);
  return Number(value);
}

const POLICY_OPTIONS = ['message', 'expected-version', 'since', 'until', 'limit'] as const;
const AUDIT_OPTIONS = ['from', 'to', 'after', 'out', 'format', 'file', 'key', 'checkpoint'] as const;
type AuditOption = (typeof AUDIT_OPTIONS)[number];

/** Which audit options each form of an audit command takes. */
const AUDIT_FORMS: Record<string, { takes: readonly AuditOption[]; hint: string }> = {
  verify: { takes: ['from', 'to'], hint: 'only --from N and --to N (or --file FILE to verify an export)' },
  'verify --file': { takes: ['file', 'key', 'checkpoint'], hint: 'only --key JWK_FILE and --checkpoint SEQ:HASH' },
  export: { takes: ['after', 'out', 'format'], hint: 'only --after N, --out FILE and --format ndjson|cloudevents' },
};

/** `audit verify [--from N] [--to N]`, `audit export`, `audit verify --file`; other options are refused. */
function audit(
  command: string | undefined,
  rest: string[],
  values: Partial<Record<(typeof POLICY_OPTIONS)[number] | AuditOption, string>>,
) {
  if (command !== 'verify' && command !== 'export') {
    console.error(`${command === undefined ? 'Missing audit command.' : `Unknown command "audit ${command}".`}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const form = command === 'verify' && values.file !== undefined ? 'verify --file' : command;
  const { takes, hint } = AUDIT_FORMS[form]!;
  const stray = [
    ...rest.map((arg) => `"${arg}"`),
    ...[...POLICY_OPTIONS, ...AUDIT_OPTIONS]
      .filter((name) => values[name] !== undefined && !(takes as readonly string[]).includes(name))
      .map((name) => `--${name}`),
  ];
  if (stray.length > 0) {
    console.error(`audit ${form} takes no ${stray.join(', ')}; ${hint}.\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (form === 'export') return auditExport({ after: afterOption(values.after), out: values.out, format: values.format });
  if (form === 'verify --file') return auditVerifyFile(values.file!, { key: values.key, checkpoint: values.checkpoint });
  return auditVerify({ from: seqOption(values.from, 'from'), to: seqOption(values.to, 'to') });
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      message: { type: 'string' },
      'expected-version': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      after: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      file: { type: 'string' },
      key: { type: 'string' },
      checkpoint: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [area, command, file] = positionals;
  if (values.help) {
    console.error(USAGE);
    return EXIT.ok;
  }
  if (area === 'audit') return audit(command, positionals.slice(2), values);
  if (area !== 'policy' || !command || !file) {
    console.error(USAGE);
    return EXIT.usage;
  }
  const auditOnly = AUDIT_OPTIONS.filter((name) => values[name] !== undefined);
  if (auditOnly.length > 0) {
    console.error(
      `${auditOnly.map((name) => `--${name}`).join(', ')} belong${auditOnly.length === 1 ? 's' : ''} to the audit commands.\n\n${USAGE}`,
    );
    return EXIT.usage;
  }
  switch (command) {
    case 'validate':
      return validate(file);
    case 'test':
      return test(file);
    case 'publish':
      return publish(file, { message: values.message, expectedVersion: integer(values['expected-version'], 'expected-version') });
    case 'replay':
      return replay(file, { since: values.since, until: values.until, limit: integer(values.limit, 'limit') });
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return EXIT.usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof ServerError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error((error as Error).message);
    } else if ((error as { code?: string }).code === 'ENOENT') {
      console.error((error as Error).message);
    } else {
      console.error(error);
    }
    process.exit(EXIT.usage);
  },
);

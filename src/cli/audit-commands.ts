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
import { EXIT, server } from './command.js';

// `greenlight audit verify|export`: the server's check of its chain, the export as NDJSON or
// CloudEvents, and the offline check of an export file.

async function auditVerify(range: { from?: number | undefined; to?: number | undefined }, json: boolean): Promise<number> {
  const result = await fetchAuditVerification(server('an AUDITOR or ADMIN'), range);
  if (json) console.log(JSON.stringify(result, null, 2));
  else for (const line of formatAuditVerification(result)) console.log(line);
  return result.ok ? EXIT.ok : EXIT.failed;
}

async function auditExport(
  options: { after: number; out?: string | undefined; format?: string | undefined },
  json: boolean,
): Promise<number> {
  const format = options.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'cloudevents') throw new ConfigError('--format must be ndjson or cloudevents');
  const summary = await exportAudit(server('an AUDITOR or ADMIN'), options.after, options.out, format);
  // Without --out, standard output carries the export itself: the summary goes to standard error.
  if (json) {
    const line = JSON.stringify({ ...summary, out: options.out ?? null, format });
    if (options.out) console.log(line);
    else console.error(line);
    return EXIT.ok;
  }
  const resume = summary.lastSeq === null ? 'no sealed events after seq ' + options.after : `last seq ${summary.lastSeq}`;
  console.error(
    `✓ exported ${summary.lines} line${summary.lines === 1 ? '' : 's'} (${summary.bytes} bytes) to ${options.out ?? 'stdout'}; ${resume}`,
  );
  return EXIT.ok;
}

async function auditVerifyFile(
  file: string,
  options: { key?: string | undefined; checkpoint?: string | undefined },
  json: boolean,
): Promise<number> {
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
  if (json) console.log(JSON.stringify({ ...result, keySource: keys.source }, null, 2));
  else for (const line of formatExportVerification(result)) console.log(line);
  return result.ok ? EXIT.ok : EXIT.failed;
}

export const POLICY_OPTIONS = ['message', 'expected-version', 'since', 'until', 'limit'] as const;
export const AUDIT_OPTIONS = ['from', 'to', 'after', 'out', 'format', 'file', 'key', 'checkpoint'] as const;
type AuditOption = (typeof AUDIT_OPTIONS)[number];

/** Which audit options each form of an audit command takes. */
const AUDIT_FORMS: Record<string, { takes: readonly AuditOption[]; hint: string }> = {
  verify: { takes: ['from', 'to'], hint: 'only --from N and --to N (or --file FILE to verify an export)' },
  'verify --file': { takes: ['file', 'key', 'checkpoint'], hint: 'only --key JWK_FILE and --checkpoint SEQ:HASH' },
  export: { takes: ['after', 'out', 'format'], hint: 'only --after N, --out FILE and --format ndjson|cloudevents' },
};

/** `audit verify [--from N] [--to N]`, `audit export`, `audit verify --file`; other options are refused. */
export function audit(
  command: string | undefined,
  rest: string[],
  values: Partial<Record<(typeof POLICY_OPTIONS)[number] | AuditOption, string>>,
  json: boolean,
  usage: string,
) {
  if (command !== 'verify' && command !== 'export') {
    console.error(`${command === undefined ? 'Missing audit command.' : `Unknown command "audit ${command}".`}\n\n${usage}`);
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
    console.error(`audit ${form} takes no ${stray.join(', ')}; ${hint}.\n\n${usage}`);
    return EXIT.usage;
  }
  if (form === 'export') return auditExport({ after: afterOption(values.after), out: values.out, format: values.format }, json);
  if (form === 'verify --file') return auditVerifyFile(values.file!, { key: values.key, checkpoint: values.checkpoint }, json);
  return auditVerify({ from: seqOption(values.from, 'from'), to: seqOption(values.to, 'to') }, json);
}

import { createHash, createPublicKey } from 'node:crypto';
import { createReadStream, createWriteStream, openSync, closeSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ConfigError } from '../config.js';
import type { ExportLine } from '../audit/export.js';
import type { AuditPublicJwk } from '../audit/keys.js';
import { verifyExport } from '../audit/verify-export.js';
import type { VerificationReport } from '../audit/verify.js';
import { ServerError, type ServerOptions } from './graphql-client.js';

/** Where the server publishes the public key that signs checkpoints (as in src/server/http.ts). */
export const AUDIT_KEY_PATH = '/.well-known/greenlight-audit-key.json';
const EXPORT_PATH = '/audit/export';

const base = (url: string) => url.replace(/\/+$/, '');

/** Parses `--after`: a whole number from 0 (the start); throws a `ConfigError` (a usage error). */
export function afterOption(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,15}$/.test(value)) throw new ConfigError(`--after must be a whole number from 0 (a seq; 0 for the start), got "${value}".`);
  return Number(value);
}

/** Parses `--checkpoint SEQ:HASH`, a checkpoint obtained elsewhere that the export must reach. */
export function checkpointOption(value: string | undefined): { seq: number; hash: string } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(value);
  if (!match || Number(match[1]) < 1)
    throw new ConfigError(`--checkpoint must be SEQ:HASH (a seq from 1 and a 64-digit hex hash), got "${value}".`);
  return { seq: Number(match[1]), hash: match[2]! };
}

export interface ExportSummary {
  lines: number;
  bytes: number;
  /** The `seq` of the last line written: the cursor for `--after` to resume from. */
  lastSeq: number | null;
}

/** Counts what passes through, and remembers the last complete line (for its `seq`). */
function counter(summary: ExportSummary) {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lastLine = '';
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      summary.bytes += chunk.length;
      const text = carry + decoder.write(chunk);
      const end = text.lastIndexOf('\n');
      if (end >= 0) {
        for (let i = text.indexOf('\n'); i !== -1 && i <= end; i = text.indexOf('\n', i + 1)) summary.lines++;
        lastLine = text.slice(text.lastIndexOf('\n', end - 1) + 1, end);
        carry = text.slice(end + 1);
      } else {
        carry = text;
      }
      done(null, chunk);
    },
    flush(done) {
      carry += decoder.end();
      if (carry.trim() !== '') {
        summary.lines++;
        lastLine = carry;
      }
      try {
        const last = JSON.parse(lastLine) as { seq?: unknown; chainseq?: unknown };
        const seq = last.seq ?? last.chainseq;
        summary.lastSeq = typeof seq === 'number' ? seq : null;
      } catch {
        summary.lastSeq = null;
      }
      done();
    },
  });
}

/**
 * Streams `GET /audit/export?after=N` to `out` (or stdout) with backpressure: the response body is
 * read only as fast as the destination drains. Throws a `ServerError` for a refusal or a broken
 * connection (an interrupted export leaves a partial file; resume with `--after` its last seq).
 */
export async function exportAudit(
  server: ServerOptions,
  after: number,
  out: string | undefined,
  format: 'ndjson' | 'cloudevents' = 'ndjson',
): Promise<ExportSummary> {
  let response: Response;
  try {
    response = await fetch(`${base(server.url)}${EXPORT_PATH}?after=${after}&format=${format}`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
  } catch (error) {
    throw new ServerError(`Cannot reach Greenlight at ${server.url}: ${(error as Error).message}`);
  }
  if (response.status !== 200 || !response.body) {
    const body = await response.text().catch(() => '');
    throw new ServerError(`Greenlight answered ${response.status}: ${body || '(no body)'}`);
  }
  const summary: ExportSummary = { lines: 0, bytes: 0, lastSeq: null };
  let destination: Writable = process.stdout;
  if (out !== undefined) {
    try {
      destination = createWriteStream(out, { fd: openSync(out, 'w') });
    } catch (error) {
      await response.body.cancel().catch(() => undefined);
      throw new ConfigError(`Cannot write ${out}: ${(error as Error).message}`);
    }
  }
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), counter(summary), destination, {
      end: out !== undefined,
    });
  } catch (error) {
    throw new ServerError(`The export broke off after ${summary.lines} lines (${summary.bytes} bytes): ${(error as Error).message}`);
  }
  return summary;
}

/** The trusted keys in a JWK file: one JWK, as served at the well-known path, or `{"keys": [...]}`. */
function keysOf(value: unknown, source: string): AuditPublicJwk[] {
  const list =
    value && typeof value === 'object' && Array.isArray((value as { keys?: unknown }).keys) ? (value as { keys: unknown[] }).keys : [value];
  if (list.length === 0) throw new ConfigError(`${source} holds no key.`);
  return list.map((jwk, i) => {
    const { kty, crv, x } = (jwk ?? {}) as { kty?: unknown; crv?: unknown; x?: unknown };
    if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string') {
      throw new ConfigError(
        `${source}${list.length > 1 ? ` (key ${i + 1})` : ''} is not an Ed25519 public JWK ({"kty":"OKP","crv":"Ed25519","x":…}).`,
      );
    }
    try {
      // The key id is recomputed (RFC 7638 thumbprint), so a JWK with a wrong or missing kid still matches its checkpoints.
      createPublicKey({ key: { kty, crv, x }, format: 'jwk' });
      const kid = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
      return { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' } satisfies AuditPublicJwk;
    } catch (error) {
      throw new ConfigError(`${source}: not a valid Ed25519 public key: ${(error as Error).message}`);
    }
  });
}

export function readKeyFile(file: string): AuditPublicJwk[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the key file ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`The key file ${file} is not JSON.`);
  }
  return keysOf(value, `The key file ${file}`);
}

export async function fetchServerKeys(url: string): Promise<AuditPublicJwk[]> {
  let response: Response;
  try {
    response = await fetch(`${base(url)}${AUDIT_KEY_PATH}`);
  } catch (error) {
    throw new ServerError(`Cannot reach Greenlight at ${url} for its audit key: ${(error as Error).message}`);
  }
  const value = response.ok ? await response.json().catch(() => undefined) : undefined;
  if (value === undefined) throw new ServerError(`Greenlight answered ${response.status} for ${AUDIT_KEY_PATH} without a JWK.`);
  return keysOf(value, `The key at ${base(url)}${AUDIT_KEY_PATH}`);
}

/**
 * Reads an export file from the start, one JSON line at a time (blank lines skipped); a line that
 * is not JSON or not an export line is a usage error naming the line.
 */
export function exportFileReader(file: string): () => AsyncGenerator<ExportLine> {
  try {
    closeSync(openSync(file, 'r'));
  } catch (error) {
    throw new ConfigError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  return async function* () {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let number = 0;
    try {
      for await (const text of lines) {
        number++;
        if (text.trim() === '') continue;
        let line: unknown;
        try {
          line = JSON.parse(text);
        } catch {
          throw new ConfigError(`${file}, line ${number}: not valid JSON.`);
        }
        const kind = (line as { kind?: unknown } | null)?.kind;
        if (kind !== 'event' && kind !== 'checkpoint')
          throw new ConfigError(`${file}, line ${number}: not an export line (its "kind" must be "event" or "checkpoint").`);
        yield line as ExportLine;
      }
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(`Cannot read ${file}: ${(error as Error).message}`);
    } finally {
      lines.close();
    }
  };
}

/** What an offline check covered, beside `verifyExport`'s report. */
export interface ExportVerification extends VerificationReport {
  file: string;
  /** The first event's seq in the file; null for a file without events. */
  fromSeq: number | null;
  keyIds: string[];
  /** Where the trusted keys came from, for people. */
  keySource: string;
  anchor: { seq: number; hash: string } | undefined;
}

export async function verifyExportFile(
  file: string,
  read: () => AsyncGenerator<ExportLine>,
  keys: { jwks: AuditPublicJwk[]; source: string },
  anchor: { seq: number; hash: string } | undefined,
): Promise<ExportVerification> {
  let fromSeq: number | null = null;
  const open = async function* () {
    for await (const line of read()) {
      if (line.kind === 'event') fromSeq ??= line.seq;
      yield line;
    }
  };
  const report = await verifyExport(open, keys.jwks, { anchor });
  return { ...report, file, fromSeq, keyIds: keys.jwks.map((jwk) => jwk.kid), keySource: keys.source, anchor };
}

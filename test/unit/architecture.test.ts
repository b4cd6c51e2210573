import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every import specifier of a file (static `from '…'` and dynamic `import('…')`). */
function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((match) => match[1]!);
}

/** The layer (first folder under src/, or the file name for top-level files) an import points to. */
function layerOf(fromFile: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = relative(SRC, join(fromFile, '..', specifier));
  return target.startsWith('..') ? 'outside' : target.split('/')[0]!.replace(/\.js$/, '');
}

const files = sourceFiles(SRC).map((path) => ({
  path,
  layer: relative(SRC, path).split('/')[0]!.replace(/\.ts$/, ''),
  imports: importsOf(path),
}));

const violations = (rule: (file: (typeof files)[number], layer: string | null, specifier: string) => boolean) =>
  files.flatMap((file) =>
    file.imports
      .filter((specifier) => rule(file, layerOf(file.path, specifier), specifier))
      .map((s) => `${relative(SRC, file.path)} -> ${s}`),
  );

describe('layering (DESIGN §4)', () => {
  it('keeps the policy engine pure: no project imports, no I/O, no clock', () => {
    expect(violations((f, layer, s) => f.layer === 'policy' && ((layer !== null && layer !== 'policy') || s.startsWith('node:')))).toEqual(
      [],
    );
    const policyText = files
      .filter((f) => f.layer === 'policy')
      .map((f) => readFileSync(f.path, 'utf8'))
      .join('\n');
    expect(policyText).not.toMatch(/Date\.now\(|new Date\(\)|process\.|performance\.now/);
  });

  it('keeps config free of project imports', () => {
    expect(violations((f, layer) => f.layer === 'config' && layer !== null)).toEqual([]);
  });

  it('never lets db, audit, auth, approvals, policies, events, quotas, receipts or logging import graphql or the server', () => {
    const lower = ['db', 'audit', 'auth', 'approvals', 'policies', 'events', 'quotas', 'receipts', 'logging'];
    expect(
      violations(
        (f, layer, s) =>
          lower.includes(f.layer) &&
          (layer === 'graphql' || layer === 'server' || layer === 'app' || s === 'graphql' || s.startsWith('graphql-yoga')),
      ),
    ).toEqual([]);
  });

  it('keeps SQL out of the GraphQL resolvers', () => {
    expect(
      violations((f, _layer, s) => f.layer === 'graphql' && (s.startsWith('drizzle-orm') || s === 'pg' || s.startsWith('@electric-sql'))),
    ).toEqual([]);
  });

  it('wires everything in app.ts only: nothing imports the composition root but main.ts', () => {
    expect(violations((f, layer) => layer === 'app' && f.layer !== 'main')).toEqual([]);
  });

  it('reads process.env only in config.ts', () => {
    const readers = files
      .filter((f) => f.layer !== 'config' && /process\.env/.test(readFileSync(f.path, 'utf8')))
      .map((f) => relative(SRC, f.path));
    expect(readers).toEqual([]);
  });

  it('keeps the SDK self-contained and fit for browsers: only its own folder and its few packages, no Node built-ins', () => {
    const allowed = ['graphql-ws', 'jose', 'canonicalize', '@graphql-typed-document-node/core', 'ai', '@openai/agents-core'];
    expect(
      violations(
        (f, layer, s) =>
          f.layer === 'client' &&
          (layer !== null ? layer !== 'client' : !allowed.includes(s) && !(s === 'ws' && f.path.endsWith('client/node.ts'))),
      ),
    ).toEqual([]);
  });

  it("keeps live delivery's state in its instances (built per app), and ws's internals in one file", () => {
    // The event hub's folder, the streams, and the server's live parts.
    const live = [
      ...files.filter((f) => f.layer === 'events').map((f) => relative(SRC, f.path)),
      'audit/stream.ts',
      'approvals/streams.ts',
      'server/shared-subscriptions.ts',
      'server/direct-delivery.ts',
      'server/live-delivery.ts',
      'server/websocket.ts',
    ];
    // A `let` or `var`, or a lower-case const holding a new object, an empty array or an empty
    // record (UPPER_CASE constants are read-only tables by convention).
    const moduleState = live.filter((file) =>
      /^(?:export )?(?:let |var |const [a-z]\w*\b.*? = (?:new \w+[<(]|\[\]|\{\}))/m.test(readFileSync(join(SRC, file), 'utf8')),
    );
    expect(live).toContain('events/hub.ts');
    expect(moduleState).toEqual([]);
    const underWs = files.filter((f) => /\._socket\b|_socket\?:/.test(readFileSync(f.path, 'utf8'))).map((f) => relative(SRC, f.path));
    expect(underWs).toEqual(['server/direct-delivery.ts']);
  });

  it('lets the MCP tools reach Greenlight only through the SDK', () => {
    expect(violations((f, layer) => f.path.endsWith('mcp/tools.ts') && layer !== null && layer !== 'client' && layer !== 'mcp')).toEqual(
      [],
    );
  });

  it('keeps files small enough to read (at most 400 lines; generated code aside)', () => {
    const long = files
      .filter((f) => !f.path.includes('/generated/') && readFileSync(f.path, 'utf8').split('\n').length > 400)
      .map((f) => relative(SRC, f.path));
    expect(long).toEqual([]);
  });
});

describe('advisory locks', () => {
  it('gives every use its own key (two uses of one key block each other: a running sealer once blocked a second instance’s start)', async () => {
    const { ADVISORY_LOCKS } = await import('../../src/db/locks.js');
    const keys = Object.values(ADVISORY_LOCKS);
    expect(new Set(keys).size).toBe(keys.length);
    const literal = files
      .filter((f) => f.layer !== 'db' && /7_?318_?244_?\d{3}/.test(readFileSync(f.path, 'utf8')))
      .map((f) => relative(SRC, f.path));
    expect(literal).toEqual([]);
  });
});

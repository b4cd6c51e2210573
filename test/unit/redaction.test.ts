import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { revealRedacted } from '../../src/audit/redacted-values.js';
import { createRedactor, hasMarkers, REDACTION_MARKER_PREFIX } from '../../src/audit/redaction.js';
import { parseRedactionPath, parseRedactionPaths, readPolicyDocument, redactionPathProblems } from '../../src/policy/index.js';

const KEY = Buffer.alloc(32, 7);
const redactor = createRedactor(KEY);
const m = (value: unknown) => redactor.marker(value);

describe('redaction paths', () => {
  it.each([
    ['params.password', { root: 'params', segments: ['password'] }],
    ['params.db.credentials.*', { root: 'params', segments: ['db', 'credentials', '*'] }],
    ['params.hosts.0.key', { root: 'params', segments: ['hosts', '0', 'key'] }],
    ['context.customer_email', { root: 'context', segments: ['customer_email'] }],
    ['params.x-api-key', { root: 'params', segments: ['x-api-key'] }],
  ])('reads %s', (text, parsed) => {
    expect(parseRedactionPath(text)).toEqual(parsed);
  });

  it.each([
    ['', 'must be a non-empty string such as "params.password"'],
    [42, 'must be a non-empty string such as "params.password"'],
    ['password', 'must start with "params." or "context." (got "password")'],
    ['reason.text', 'must start with "params." or "context." (got "reason.text")'],
    ['params', 'must name a key below params, e.g. "params.password" (the whole params cannot be redacted)'],
    ['params..password', 'has an invalid key "": keys are separated by single dots, without spaces; "*" stands alone for any key'],
    ['params.pass word', 'has an invalid key "pass word": keys are separated by single dots, without spaces; "*" stands alone for any key'],
    ['params.pass*', 'has an invalid key "pass*": keys are separated by single dots, without spaces; "*" stands alone for any key'],
    ['context.a.b', 'context values are strings: name one label, e.g. "context.ticket"'],
    [`params.${'a.'.repeat(10)}b`, 'must be at most 10 keys deep'],
    [`params.${'a'.repeat(200)}`, 'must be at most 200 characters'],
  ])('refuses %j', (text, problem) => {
    expect(parseRedactionPath(text)).toEqual({ problem });
  });

  it('reports each bad entry of a list by index, duplicates and size too', () => {
    expect(redactionPathProblems(['params.a', 'nope', 'params.a'])).toEqual([
      { field: 'redact[1]', message: 'must start with "params." or "context." (got "nope")' },
      { field: 'redact[2]', message: 'duplicate path "params.a"' },
    ]);
    expect(redactionPathProblems('params.a')).toEqual([{ field: 'redact', message: 'must be a list of paths such as "params.password"' }]);
    const many = Array.from({ length: 101 }, (_, i) => `params.k${i}`);
    expect(redactionPathProblems(many)).toEqual([{ field: 'redact', message: 'must list at most 100 paths' }]);
    expect(redactionPathProblems(many.slice(0, 100))).toEqual([]);
  });

  it('is a policy document field, validated with the rest', () => {
    expect(readPolicyDocument({ rules: [], redact: ['params.password'] })).toEqual({
      document: { rules: [], defaultEffect: 'ESCALATE', redact: ['params.password'] },
      issues: [],
    });
    expect(readPolicyDocument({ rules: [], redact: ['password'] })).toEqual({
      document: null,
      issues: [{ ruleId: null, field: 'redact[0]', message: 'must start with "params." or "context." (got "password")' }],
    });
    expect(readPolicyDocument({ rules: [], redact: null }).document).toEqual({ rules: [], defaultEffect: 'ESCALATE' });
    expect(readPolicyDocument({ rules: [], redcat: [] }).issues).toEqual([
      { ruleId: null, field: 'redcat', message: 'unknown field "redcat"; did you mean "redact"?' },
    ]);
  });
});

describe('the redactor', () => {
  const paths = parseRedactionPaths(['params.password', 'params.db.*', 'params.hosts.*.key', 'params.tokens.1', 'context.email']);

  it('makes a keyed HMAC-SHA-256 marker of the canonical JSON of the value', () => {
    const expected = createHmac('sha256', KEY).update('{"a":1,"b":[true,null]}').digest('base64url');
    expect(m({ b: [true, null], a: 1 })).toBe(`${REDACTION_MARKER_PREFIX}${expected}]`);
    expect(m('hunter2')).toMatch(/^\[redacted:hmac-sha256:[\w-]{43}\]$/);
    expect(m('hunter2')).toBe(m('hunter2'));
    expect(m('hunter2')).not.toBe(m('hunter3'));
    expect(createRedactor(Buffer.alloc(32, 8)).marker('hunter2')).not.toBe(m('hunter2'));
  });

  it('replaces the values at the paths, wildcards and list elements included, and returns them with their places', () => {
    const params = {
      password: 'hunter2',
      db: { user: 'app', pass: { nested: true } },
      hosts: [{ name: 'a', key: 'k1' }, { name: 'b' }, 'plain'],
      tokens: ['t0', 't1'],
      replicas: 3,
    };
    const before = structuredClone(params);
    const { value, redacted } = redactor.redact(params, 'params', paths, ['params']);
    expect(value).toEqual({
      password: m('hunter2'),
      db: { user: m('app'), pass: m({ nested: true }) },
      hosts: [{ name: 'a', key: m('k1') }, { name: 'b' }, 'plain'],
      tokens: ['t0', m('t1')],
      replicas: 3,
    });
    expect(params).toEqual(before); // the input is not touched
    expect(redacted).toEqual([
      { path: ['params', 'password'], value: 'hunter2' },
      { path: ['params', 'db', 'user'], value: 'app' },
      { path: ['params', 'db', 'pass'], value: { nested: true } },
      { path: ['params', 'tokens', 1], value: 't1' },
      { path: ['params', 'hosts', 0, 'key'], value: 'k1' },
    ]);
    expect(revealRedacted(redactor, { params: value }, redacted)).toEqual({ params });
  });

  it('leaves what the paths do not reach, other roots and absent keys alone', () => {
    expect(redactor.redact({ replicas: 3 }, 'params', paths, ['params'])).toEqual({ value: { replicas: 3 }, redacted: [] });
    expect(redactor.redact(null, 'params', paths, ['params'])).toEqual({ value: null, redacted: [] });
    expect(redactor.redact({ password: 'x' }, 'context', paths, ['context']).value).toEqual({ password: 'x' });
    expect(redactor.redact({ email: 'a@b.c', ticket: 'INC-1' }, 'context', paths, ['context']).value).toEqual({
      email: m('a@b.c'),
      ticket: 'INC-1',
    });
    expect(redactor.redact({ db: 'not an object' }, 'params', paths, []).value).toEqual({ db: 'not an object' });
  });

  it('takes out an ancestor whole when two paths overlap, so no taken-out value holds a marker', () => {
    const overlapping = parseRedactionPaths(['params.a.b', 'params.a', 'params.*']);
    const { value, redacted } = redactor.redact({ a: { b: 1, c: 2 } }, 'params', overlapping, ['params']);
    expect(value).toEqual({ a: m({ b: 1, c: 2 }) });
    expect(redacted).toEqual([{ path: ['params', 'a'], value: { b: 1, c: 2 } }]);
  });

  it('redacts a value that only looks like a marker like any other: judged by place, never by content', () => {
    const forged = `${REDACTION_MARKER_PREFIX}${'A'.repeat(43)}]`;
    const { value, redacted } = redactor.redact({ password: forged }, 'params', parseRedactionPaths(['params.password']), ['params']);
    expect(value).toEqual({ password: m(forged) });
    expect(redacted).toEqual([{ path: ['params', 'password'], value: forged }]);
  });

  it('handles a key named __proto__ as data, never as the prototype', () => {
    const params = JSON.parse('{"__proto__": {"polluted": "yes"}}') as Record<string, unknown>;
    const { value, redacted } = redactor.redact(params, 'params', parseRedactionPaths(['params.*']), ['params']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const revealed = revealRedacted(redactor, { params: value }, redacted);
    expect(revealed).toEqual({ params });
    expect(Object.getPrototypeOf(revealed.params)).toBe(Object.prototype);
  });

  it('masks for display from stored path lists, and finds markers', () => {
    expect(redactor.mask({ password: 'p' }, 'params', ['params.password'])).toEqual({ password: m('p') });
    expect(redactor.mask({ password: 'p' }, 'params', [])).toEqual({ password: 'p' });
    expect(hasMarkers({ params: { password: m('p') } })).toBe(true);
    expect(hasMarkers({ params: { password: 'p' } })).toBe(false);
  });

  it('reveals a value only where its own marker still stands', () => {
    const { value } = redactor.redact({ password: 'hunter2', other: 'x' }, 'params', paths, ['params']);
    const data = { params: value };
    // A value changed beside the chain does not match the logged marker: the marker stays.
    expect(revealRedacted(redactor, data, [{ path: ['params', 'password'], value: 'forged' }])).toEqual(data);
    // A path that names no marker is not written either.
    expect(revealRedacted(redactor, data, [{ path: ['params', 'other'], value: 'x' }])).toEqual(data);
    expect(revealRedacted(redactor, data, [{ path: ['params', 'password'], value: 'hunter2' }])).toEqual({
      params: { password: 'hunter2', other: 'x' },
    });
  });
});

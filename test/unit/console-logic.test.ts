import { describe, expect, it } from 'vitest';
import { diffJson } from '../../console/src/inbox/json-diff.js';
import { applyEvent, departureText, emptyQueue, type Item, type QueueEvent } from '../../console/src/inbox/queue.js';
import { describeScope } from '../../console/src/inbox/scope.js';
import { flagsIn, inspect } from '../../console/src/ui/fidelity.js';
import { isRedactedPath } from '../../console/src/ui/redaction.js';

// The console's pure parts: what it flags in agent text, how it diffs params, how the live queue
// folds events, and the words it shows for a standing approval's scope.

describe('fidelity of agent text', () => {
  it('flags invisible characters, bidi controls and controls, one code point each, keeping plain runs', () => {
    expect(inspect('a\u200bb\u202ec\u0007')).toEqual([
      { text: 'a' },
      { text: '\u200b', flag: 'invisible', codePoint: 0x200b },
      { text: 'b' },
      { text: '\u202e', flag: 'bidi', codePoint: 0x202e },
      { text: 'c' },
      { text: '\u0007', flag: 'control', codePoint: 0x07 },
    ]);
    expect(inspect('line one\nline\ttwo')).toEqual([{ text: 'line one\nline\ttwo' }]);
  });

  it('flags Cyrillic or Greek letters mixed with Latin ones, not prose written in them, and always full-width Latin', () => {
    expect(inspect('p\u0430ypal').filter((segment) => segment.flag)).toEqual([{ text: '\u0430', flag: 'lookalike', codePoint: 0x430 }]);
    expect(inspect('привет мир').some((segment) => segment.flag)).toBe(false);
    expect(inspect('ｐａｙ').every((segment) => segment.flag === 'lookalike')).toBe(true);
  });

  it('flags every default-ignorable or format character, blanks, and combining marks on Latin or stacked', () => {
    for (const char of ['\u2800', '\u206a', '\ufff9', '\u{1d173}', '\u{1bca0}', '\u00ad', '\u{e0041}'])
      expect(inspect(`a${char}b`).filter((segment) => segment.flag)).toEqual([expect.objectContaining({ flag: 'invisible' })]);
    expect(inspect('a\u0338').filter((segment) => segment.flag)).toEqual([expect.objectContaining({ flag: 'combining' })]);
    expect(inspect('\u0915\u093f').some((segment) => segment.flag)).toBe(false);
    expect(inspect('\u0915\u093f\u0301\u0301').filter((segment) => segment.flag)).toHaveLength(2);
  });

  it('flags every look-alike letter in an identifier, even with no Latin letter beside it', () => {
    expect(inspect('\u0430\u0440\u0440\u04cf\u0435.\u0441\u043e\u043c').some((segment) => segment.flag)).toBe(false);
    expect(inspect('\u0430\u0440\u0440\u04cf\u0435.\u0441\u043e\u043c', true).filter((segment) => segment.flag)).toHaveLength(8);
    expect(inspect('\u0261it', false).filter((segment) => segment.flag)).toHaveLength(1);
  });

  it('counts flags across a JSON value, keys included, and stops at a bounded depth', () => {
    const counts = flagsIn({ 'k\u200d': ['x\u2066', { y: 'z\u202e' }] });
    expect(Object.fromEntries(counts)).toEqual({ invisible: 1, bidi: 2 });
    let deep: unknown = 'x\u200b';
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(flagsIn(deep).size).toBe(0);
  });

  it('handles a long hostile string in linear time (no backtracking), as one pass per code point', () => {
    const hostile = '\u200b'.repeat(100_000) + 'a';
    expect(inspect(hostile)).toHaveLength(100_001);
  });
});

describe('redaction paths', () => {
  it('matches a policy path by segment, with * for one key', () => {
    expect(isRedactedPath(['params', 'password'], ['params.password'])).toBe(true);
    expect(isRedactedPath(['params', 'db', 'secret'], ['params.db.*'])).toBe(true);
    expect(isRedactedPath(['params', 'db'], ['params.db.*'])).toBe(false);
    expect(isRedactedPath(['params', 'other'], ['params.password'])).toBe(false);
  });
});

describe('the params diff', () => {
  it('lists added, removed and changed paths against the agent params', () => {
    expect(
      diffJson({ replicas: 3, keep: 1, hosts: ['a', 'b'], 'odd key': 1 }, { replicas: 2, keep: 1, hosts: ['a'], extra: true }),
    ).toEqual([
      { path: 'params.replicas', kind: 'changed', before: 3, after: 2 },
      { path: 'params.hosts[1]', kind: 'removed', before: 'b' },
      { path: 'params["odd key"]', kind: 'removed', before: 1 },
      { path: 'params.extra', kind: 'added', after: true },
    ]);
    expect(diffJson({ a: 1 }, { a: 1 })).toEqual([]);
    // Keys named like Object.prototype's are keys like any other.
    expect(
      diffJson({ x: 1 }, JSON.parse('{ "x": 1, "constructor": "evil", "toString": 1, "__proto__": { "a": 1 } }')).map((c) => c.path),
    ).toEqual(['params.constructor', 'params.toString', 'params.__proto__']);
  });

  it('stops at its limit', () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    expect(diffJson({}, many)).toHaveLength(200);
  });
});

const item = (id: string, createdAt: string, extra: Partial<Item> = {}): Item =>
  ({ id, createdAt, status: 'PENDING', action: 'deploy', resource: `prod/${id}`, agent: { id: 'agent', name: 'bot' }, ...extra }) as Item;

const event = (kind: QueueEvent['kind'], request: Partial<Item> & Record<string, unknown>): QueueEvent =>
  ({ kind, cursor: 'c', request: { decider: null, decisionReason: null, overridden: false, decidedBy: null, ...request } }) as QueueEvent;

describe('the live queue', () => {
  it('adds in age order, replaces a repeated ADDED, refreshes on UPDATED, and ignores UPDATED for what it does not hold', () => {
    let state = applyEvent(emptyQueue, event('ADDED', item('b', '2026-01-02')), 'me');
    state = applyEvent(state, event('ADDED', item('a', '2026-01-01')), 'me');
    state = applyEvent(state, event('ADDED', item('b', '2026-01-02', { approvalsReceived: 0 })), 'me');
    expect(state.items.map((i) => i.id)).toEqual(['a', 'b']);
    state = applyEvent(state, event('UPDATED', item('b', '2026-01-02', { approvalsReceived: 1 })), 'me');
    expect(state.items[1]!.approvalsReceived).toBe(1);
    expect(applyEvent(state, event('UPDATED', item('z', '2026-01-03')), 'me')).toBe(state);
  });

  it('takes a decided request out with a note of what happened, once', () => {
    let state = applyEvent(emptyQueue, event('ADDED', item('a', '2026-01-01')), 'me');
    const removed = event('REMOVED', {
      ...item('a', '2026-01-01'),
      status: 'APPROVED',
      decidedBy: 'REVIEWER',
      decider: { id: 'ada', name: 'Ada' },
      decisionReason: 'fine',
    });
    state = applyEvent(state, removed, 'me');
    expect(state.items).toEqual([]);
    expect(state.departed).toEqual([{ id: 'a', text: 'deploy on prod/a (bot) was approved by Ada: “fine”.' }]);
    expect(applyEvent(state, removed, 'me')).toBe(state);
  });

  it('says who decided, in words, for each way a request leaves', () => {
    const base = { ...item('a', '2026-01-01'), decider: null, decisionReason: null, overridden: false, decidedBy: null } as never;
    const text = (changes: Record<string, unknown>) => departureText({ ...(base as object), ...changes } as never, 'me');
    expect(text({ status: 'EXPIRED', decidedBy: 'TIMEOUT' })).toBe('deploy on prod/a (bot) expired: nobody decided before its deadline.');
    expect(text({ status: 'CANCELLED', decidedBy: 'REQUESTER' })).toBe('deploy on prod/a (bot) was cancelled by its agent.');
    expect(
      text({ status: 'REJECTED', decidedBy: 'ADMIN', overridden: true, decider: { id: 'x', name: 'Root' }, decisionReason: 'freeze' }),
    ).toBe("deploy on prod/a (bot) was rejected by an administrator's override (Root): “freeze”.");
    expect(text({ status: 'APPROVED', decidedBy: 'REVIEWER', decider: { id: 'me', name: 'Me' } })).toBe(
      'You approved deploy on prod/a (bot).',
    );
  });
});

describe('a standing approval in words', () => {
  const choice = {
    agent: 'bot',
    onBehalfOf: null,
    action: 'deploy',
    resource: 'prod/web',
    rules: ['deploys'],
    resources: '',
    sameParams: false,
    amended: false,
    forSeconds: 900,
  };

  it('says the narrowest scope by default, and every condition the server applies', () => {
    const words = describeScope(choice, 0);
    expect(words).toContain(
      'your approval will also count for each new request by bot acting for nobody to deploy on exactly prod/web (no other resource), with any params, escalated only by rule deploys.',
    );
    expect(words).toContain('For the next 15 min 0 s');
    expect(words).toContain('Requests already waiting are not covered.');
  });

  it('says what a glob covers, the human, several rules, and the params after a change of params', () => {
    const words = describeScope({ ...choice, resources: 'prod/*', onBehalfOf: 'Hal', rules: ['a', 'b'], amended: true }, 0);
    expect(words).toContain('acting for Hal');
    expect(words).toContain('any resource matching the glob prod/* (* is any characters within one /-separated segment');
    expect(words).toContain('with exactly the params shown, escalated only by rules a, b (or some of them)');
    expect(describeScope({ ...choice, rules: [] }, 0)).toContain("escalated by the policy's default");
  });
});

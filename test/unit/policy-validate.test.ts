import picomatch from 'picomatch';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidPolicyError,
  POLICY_LIMITS,
  compilePolicy,
  evaluatePolicy,
  globProblem,
  validatePolicy,
  type PolicyDocument,
  type PolicyEffect,
  type PolicyIssue,
  type PolicyRule,
} from '../../src/policy/index.js';

// Count glob compilations while keeping picomatch's real behaviour.
vi.mock('picomatch', async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof picomatch }>();
  return { default: vi.fn(actual.default) };
});

const rule = (overrides: Partial<PolicyRule> = {}): PolicyRule => ({
  id: 'rule-1',
  effect: 'ALLOW',
  actions: ['deploy.*'],
  resources: ['prod/**'],
  ...overrides,
});

const doc = (rules: PolicyRule[], defaultEffect: PolicyEffect = 'ESCALATE'): PolicyDocument => ({ rules, defaultEffect });

/** Lets a test hand the validator data the types forbid, as a client could send. */
const unsafe = <T>(value: unknown): T => value as T;

const ID_MESSAGE = 'must start with a letter or digit and use only letters, digits, _ . : - (at most 100)';
const EFFECT_MESSAGE = 'must be one of ALLOW, ESCALATE, BLOCK';
const EMPTY_LIST_MESSAGE = 'must list at least one glob (use "*" or "**" to match everything)';
const APPROVALS_MESSAGE = 'must be a whole number from 1 to 20';
const TIMEOUT_MESSAGE = 'must be a whole number from 1 to 2592000';

describe('validatePolicy: a valid policy', () => {
  it.each<[string, PolicyDocument]>([
    ['an empty policy', doc([])],
    ['a single ALLOW rule', doc([rule()])],
    [
      'every effect and every optional field',
      doc(
        [
          rule({ id: 'allow-reads', effect: 'ALLOW', actions: ['*.read'], resources: ['**'], description: 'Reads are safe.' }),
          rule({
            id: 'escalate-deploys',
            effect: 'ESCALATE',
            actions: ['deploy.{update,rollback}'],
            resources: ['prod/*', 'staging/**'],
            review: { groups: ['sre', 'security.oncall', 'team:payments', 'a_b-c'], approvals: 2, timeoutSeconds: 900 },
            reason: 'A human must approve production deploys.',
          }),
          rule({ id: 'block-drops', effect: 'BLOCK', actions: ['db.drop'], resources: ['**'], reason: 'Never.' }),
        ],
        'BLOCK',
      ),
    ],
    ['an ESCALATE rule with an empty review', doc([rule({ effect: 'ESCALATE', review: {} })])],
    ['an ESCALATE rule with an empty group list', doc([rule({ effect: 'ESCALATE', review: { groups: [] } })])],
    [
      'review limits at their bounds',
      doc([
        rule({ id: 'low', effect: 'ESCALATE', review: { approvals: 1, timeoutSeconds: 1 } }),
        rule({ id: 'high', effect: 'ESCALATE', review: { approvals: 20, timeoutSeconds: 30 * 24 * 3_600 } }),
      ]),
    ],
    [
      'text fields at their maximum length',
      doc([rule({ description: 'd'.repeat(1_000), reason: 'r'.repeat(1_000) })]),
    ],
    ['a glob at its maximum length', doc([rule({ resources: ['g'.repeat(256)] })])],
    ['the maximum number of globs in a rule', doc([rule({ actions: Array.from({ length: 100 }, (_, i) => `action.${i}`) })])],
    ['every defaultEffect: ALLOW', doc([], 'ALLOW')],
    ['every defaultEffect: BLOCK', doc([], 'BLOCK')],
  ])('%s has no issues', (_name, document) => {
    expect(validatePolicy(document)).toEqual([]);
  });

  it.each([
    'a',
    '0',
    'Z9',
    'allow-reads',
    'team:payments.deploys_v2',
    'a'.repeat(100),
  ])('accepts the rule id %j', (id) => {
    expect(validatePolicy(doc([rule({ id })]))).toEqual([]);
  });
});

describe('validatePolicy: rule ids', () => {
  it.each([
    ['-leading-dash', '-leading-dash'],
    ['_leading-underscore', '_leading-underscore'],
    ['.leading-dot', '.leading-dot'],
    ['has space', 'has space'],
    ['has/slash', 'has/slash'],
    ['emoji-✓', 'emoji-✓'],
    [' padded', ' padded'],
    ['a'.repeat(101), 'a'.repeat(101)],
    ['', '#1'],
  ])('rejects the rule id %j, naming the rule %j', (id, ruleId) => {
    expect(validatePolicy(doc([rule({ id })]))).toEqual([{ ruleId, field: 'id', message: ID_MESSAGE }]);
  });

  it('names a rule without a usable id by its position', () => {
    const issues = validatePolicy(doc([rule({ id: 'ok' }), rule({ id: '' }), rule({ id: unsafe<string>(undefined), effect: unsafe<PolicyEffect>('NOPE') })]));
    expect(issues).toEqual([
      { ruleId: '#2', field: 'id', message: ID_MESSAGE },
      { ruleId: '#3', field: 'id', message: ID_MESSAGE },
      { ruleId: '#3', field: 'effect', message: EFFECT_MESSAGE },
    ]);
  });

  it('reports a duplicate id once per repetition, on the later rule', () => {
    const issues = validatePolicy(doc([rule({ id: 'a' }), rule({ id: 'b' }), rule({ id: 'a' }), rule({ id: 'a' })]));
    expect(issues).toEqual([
      { ruleId: 'a', field: 'id', message: 'duplicate rule id "a"' },
      { ruleId: 'a', field: 'id', message: 'duplicate rule id "a"' },
    ]);
  });

  it('reports a repeated invalid id both as invalid and as a duplicate', () => {
    const issues = validatePolicy(doc([rule({ id: 'bad id' }), rule({ id: 'bad id' })]));
    expect(issues).toEqual([
      { ruleId: 'bad id', field: 'id', message: ID_MESSAGE },
      { ruleId: 'bad id', field: 'id', message: ID_MESSAGE },
      { ruleId: 'bad id', field: 'id', message: 'duplicate rule id "bad id"' },
    ]);
  });

  it('does not report missing or empty ids as duplicates of each other', () => {
    const issues = validatePolicy(doc([rule({ id: '' }), rule({ id: '' }), rule({ id: unsafe<string>(undefined) }), rule({ id: unsafe<string>(undefined) })]));
    expect(issues).toEqual([
      { ruleId: '#1', field: 'id', message: ID_MESSAGE },
      { ruleId: '#2', field: 'id', message: ID_MESSAGE },
      { ruleId: '#3', field: 'id', message: ID_MESSAGE },
      { ruleId: '#4', field: 'id', message: ID_MESSAGE },
    ]);
    // Every issue names a rule: none carries an empty or missing ruleId.
    expect(issues.every((issue) => typeof issue.ruleId === 'string' && issue.ruleId.length > 0)).toBe(true);
  });
});

describe('validatePolicy: effects', () => {
  it.each(['DENY', 'allow', '', 'Escalate', 'BLOCKED'])('rejects the rule effect %j', (effect) => {
    expect(validatePolicy(doc([rule({ effect: unsafe<PolicyEffect>(effect) })]))).toEqual([
      { ruleId: 'rule-1', field: 'effect', message: EFFECT_MESSAGE },
    ]);
  });

  it.each(['DENY', 'allow', '', 'NONE'])('rejects the defaultEffect %j as a policy-level issue', (defaultEffect) => {
    expect(validatePolicy(doc([rule()], unsafe<PolicyEffect>(defaultEffect)))).toEqual([
      { ruleId: null, field: 'defaultEffect', message: EFFECT_MESSAGE },
    ]);
  });
});

describe('validatePolicy: glob lists', () => {
  it.each(['actions', 'resources'] as const)('rejects an empty %s list', (field) => {
    expect(validatePolicy(doc([rule({ [field]: [] })]))).toEqual([{ ruleId: 'rule-1', field, message: EMPTY_LIST_MESSAGE }]);
  });

  it.each(['actions', 'resources'] as const)('rejects a missing %s list', (field) => {
    expect(validatePolicy(doc([rule({ [field]: unsafe<string[]>(undefined) })]))).toEqual([
      { ruleId: 'rule-1', field, message: EMPTY_LIST_MESSAGE },
    ]);
  });

  it.each(['actions', 'resources'] as const)('rejects more than 100 globs in %s', (field) => {
    const globs = Array.from({ length: 101 }, (_, i) => `g${i}`);
    expect(validatePolicy(doc([rule({ [field]: globs })]))).toEqual([{ ruleId: 'rule-1', field, message: 'must list at most 100 globs' }]);
  });

  it('rejects a glob that is not a string', () => {
    expect(validatePolicy(doc([rule({ actions: ['deploy.*', unsafe<string>(42)] })]))).toEqual([
      { ruleId: 'rule-1', field: 'actions[1]', message: 'glob 42 must be a string' },
    ]);
  });
});

describe('validatePolicy: glob syntax', () => {
  const long = 'x'.repeat(257);
  it.each([
    ['', 'must not be empty'],
    [long, 'must be at most 256 characters'],
    ['deploy update', 'must not contain white space or control characters'],
    [' deploy.*', 'must not contain white space or control characters'],
    ['deploy.*\t', 'must not contain white space or control characters'],
    ['deploy\n.*', 'must not contain white space or control characters'],
    ['deploy.\u0000', 'must not contain white space or control characters'],
    ['deploy.\u0007x', 'must not contain white space or control characters'],
    ['prod/[ab', "has an unclosed '['"],
    ['deploy.{update,rollback', "has an unclosed '{'"],
    ['@(a|b', "has an unclosed '('"],
    ['prod/a]b', "has an unbalanced ']'"],
    ['deploy.update}', "has an unbalanced '}'"],
    ['a)', "has an unbalanced ')'"],
    ['{a,b)', "has an unbalanced ')'"],
    ['(a}', "has an unbalanced '}'"],
    ['{(a})', "has an unbalanced '}'"],
    ['{a,{b,c}', "has an unclosed '{'"],
    ['(a{b)', "has an unbalanced ')'"],
    ['\\[a]', "has an unbalanced ']'"],
  ])('globProblem(%j) is %j', (glob, problem) => {
    expect(globProblem(glob)).toBe(problem);
  });

  it.each([
    'deploy.*',
    '*',
    '**',
    'prod/**',
    'deploy.{update,rollback}',
    'prod/[a-z]*',
    '@(a|b)',
    '!(x)',
    '{a,{b,c}}',
    'a\\[b',
    'a\\]b',
    'a\\{b',
    'a\\}b',
    'a\\(b',
    'a\\)b',
    'a\\',
    '[\\]]',
    'logs/[(]*',
    'logs/[{]*',
    'logs/[)}]*',
    'logs/[[]*',
    'g'.repeat(256),
  ])('globProblem(%j) finds nothing wrong', (glob) => {
    expect(globProblem(glob)).toBeNull();
  });

  it.each([
    ['a\\[b', 'a[b', 'ab'],
    ['a\\{b\\}', 'a{b}', 'ab'],
    ['logs/[(]*', 'logs/(x', 'logs/x'],
    ['logs/[{]*', 'logs/{x', 'logs/x'],
    ['logs/[[]*', 'logs/[x', 'logs/x'],
  ])('an accepted glob %j compiles and matches %j literally but not %j', (glob, matching, other) => {
    const compiled = compilePolicy(doc([rule({ actions: ['*'], resources: [glob] })], 'BLOCK'), 1);
    const decide = (resource: string) => evaluatePolicy(compiled, { action: 'read', resource, agent: { id: 'a', groups: [], labels: {} } }).effect;
    expect(decide(matching)).toBe('ALLOW');
    expect(decide(other)).toBe('BLOCK');
  });

  it.each(['actions', 'resources'] as const)('reports each bad glob in %s with its index and the glob itself', (field) => {
    expect(validatePolicy(doc([rule({ [field]: ['ok.*', 'bad glob', 'ok2', 'x{'] })]))).toEqual([
      { ruleId: 'rule-1', field: `${field}[1]`, message: 'glob "bad glob" must not contain white space or control characters' },
      { ruleId: 'rule-1', field: `${field}[3]`, message: "glob \"x{\" has an unclosed '{'" },
    ]);
  });

  it('reports an empty glob in a list', () => {
    expect(validatePolicy(doc([rule({ actions: [''] })]))).toEqual([
      { ruleId: 'rule-1', field: 'actions[0]', message: 'glob "" must not be empty' },
    ]);
  });
});

describe('validatePolicy: text fields', () => {
  it.each(['description', 'reason'] as const)('rejects a %s longer than 1000 characters', (field) => {
    expect(validatePolicy(doc([rule({ [field]: 'x'.repeat(1_001) })]))).toEqual([
      { ruleId: 'rule-1', field, message: 'must be at most 1000 characters' },
    ]);
  });

  it.each(['description', 'reason'] as const)('accepts a null %s as absent', (field) => {
    expect(validatePolicy(doc([rule({ [field]: unsafe<string>(null) })]))).toEqual([]);
  });
});

describe('validatePolicy: review', () => {
  it.each(['ALLOW', 'BLOCK'] as const)('rejects a review on a %s rule', (effect) => {
    expect(validatePolicy(doc([rule({ effect, review: { approvals: 2 } })]))).toEqual([
      { ruleId: 'rule-1', field: 'review', message: 'is only allowed on ESCALATE rules' },
    ]);
  });

  it.each(['', ' sre', 'sre team', '-sre', '_sre', 'sre/oncall', 'g'.repeat(101)])('rejects the group name %j', (group) => {
    expect(validatePolicy(doc([rule({ effect: 'ESCALATE', review: { groups: ['sre', group] } })]))).toEqual([
      { ruleId: 'rule-1', field: 'review.groups[1]', message: `group ${JSON.stringify(group)} is not a valid group name` },
    ]);
  });

  it.each([0, -1, 21, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects approvals = %s', (approvals) => {
    expect(validatePolicy(doc([rule({ effect: 'ESCALATE', review: { approvals } })]))).toEqual([
      { ruleId: 'rule-1', field: 'review.approvals', message: APPROVALS_MESSAGE },
    ]);
  });

  it.each([1, 2, 20])('accepts approvals = %s', (approvals) => {
    expect(validatePolicy(doc([rule({ effect: 'ESCALATE', review: { approvals } })]))).toEqual([]);
  });

  it.each([0, -60, 30 * 24 * 3_600 + 1, 59.5, Number.NaN])('rejects timeoutSeconds = %s', (timeoutSeconds) => {
    expect(validatePolicy(doc([rule({ effect: 'ESCALATE', review: { timeoutSeconds } })]))).toEqual([
      { ruleId: 'rule-1', field: 'review.timeoutSeconds', message: TIMEOUT_MESSAGE },
    ]);
  });

  it.each([1, 60, 3_600, 30 * 24 * 3_600])('accepts timeoutSeconds = %s', (timeoutSeconds) => {
    expect(validatePolicy(doc([rule({ effect: 'ESCALATE', review: { timeoutSeconds } })]))).toEqual([]);
  });

  it('reports every problem in a review, in field order, after the effect mismatch', () => {
    const review = { groups: ['ok', 'not ok', 'also-ok', ''], approvals: 0, timeoutSeconds: 0 };
    expect(validatePolicy(doc([rule({ effect: 'BLOCK', review })]))).toEqual([
      { ruleId: 'rule-1', field: 'review', message: 'is only allowed on ESCALATE rules' },
      { ruleId: 'rule-1', field: 'review.groups[1]', message: 'group "not ok" is not a valid group name' },
      { ruleId: 'rule-1', field: 'review.groups[3]', message: 'group "" is not a valid group name' },
      { ruleId: 'rule-1', field: 'review.approvals', message: APPROVALS_MESSAGE },
      { ruleId: 'rule-1', field: 'review.timeoutSeconds', message: TIMEOUT_MESSAGE },
    ]);
  });
});

describe('validatePolicy: limits and several issues at once', () => {
  it('exposes the documented limits', () => {
    expect(POLICY_LIMITS).toEqual({
      maxRules: 10_000,
      maxGlobsPerRule: 100,
      maxGlobLength: 256,
      maxApprovals: 20,
      maxTimeoutSeconds: 2_592_000,
      maxTextLength: 1_000,
    });
  });

  it.each([
    [10_000, []],
    [10_001, [{ ruleId: null, field: 'rules', message: 'must hold at most 10000 rules' }]],
  ] as const)('a policy with %s rules has issues %j', (count, expected) => {
    const rules = Array.from({ length: count }, (_, i) => rule({ id: `r${i}` }));
    expect(validatePolicy(doc(rules))).toEqual(expected);
  });

  it('reports every issue at once: policy issues first, then each rule in order, each rule field by field', () => {
    const issues = validatePolicy(
      doc(
        [
          rule({ id: 'fine' }),
          rule({
            id: 'bad id',
            effect: unsafe<PolicyEffect>('DENY'),
            actions: [],
            resources: ['prod/[x', 'ok', 'a b'],
            description: 'd'.repeat(1_001),
            reason: 'r'.repeat(1_001),
            review: { groups: ['-x'], approvals: 21, timeoutSeconds: 1.5 },
          }),
          rule({ id: 'fine', actions: ['{'] }),
          rule({ id: '', resources: [] }),
        ],
        unsafe<PolicyEffect>('MAYBE'),
      ),
    );
    expect(issues).toEqual<PolicyIssue[]>([
      { ruleId: null, field: 'defaultEffect', message: EFFECT_MESSAGE },
      { ruleId: 'bad id', field: 'id', message: ID_MESSAGE },
      { ruleId: 'bad id', field: 'effect', message: EFFECT_MESSAGE },
      { ruleId: 'bad id', field: 'actions', message: EMPTY_LIST_MESSAGE },
      { ruleId: 'bad id', field: 'resources[0]', message: "glob \"prod/[x\" has an unclosed '['" },
      { ruleId: 'bad id', field: 'resources[2]', message: 'glob "a b" must not contain white space or control characters' },
      { ruleId: 'bad id', field: 'description', message: 'must be at most 1000 characters' },
      { ruleId: 'bad id', field: 'reason', message: 'must be at most 1000 characters' },
      { ruleId: 'bad id', field: 'review', message: 'is only allowed on ESCALATE rules' },
      { ruleId: 'bad id', field: 'review.groups[0]', message: 'group "-x" is not a valid group name' },
      { ruleId: 'bad id', field: 'review.approvals', message: APPROVALS_MESSAGE },
      { ruleId: 'bad id', field: 'review.timeoutSeconds', message: TIMEOUT_MESSAGE },
      { ruleId: 'fine', field: 'actions[0]', message: "glob \"{\" has an unclosed '{'" },
      { ruleId: 'fine', field: 'id', message: 'duplicate rule id "fine"' },
      { ruleId: '#4', field: 'id', message: ID_MESSAGE },
      { ruleId: '#4', field: 'resources', message: EMPTY_LIST_MESSAGE },
    ]);
  });
});

describe('compilePolicy', () => {
  const picomatchSpy = vi.mocked(picomatch);
  beforeEach(() => {
    picomatchSpy.mockClear();
  });

  it('throws an InvalidPolicyError carrying every issue, and compiles no glob', () => {
    const document = doc([rule({ id: 'a', actions: [] }), rule({ id: 'a', effect: 'ALLOW', review: { approvals: 2 } })], unsafe<PolicyEffect>('NO'));
    let error: unknown;
    try {
      compilePolicy(document, 3);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidPolicyError);
    expect(error).toBeInstanceOf(Error);
    const invalid = error as InvalidPolicyError;
    expect(invalid.name).toBe('InvalidPolicyError');
    expect(invalid.issues).toEqual(validatePolicy(document));
    expect(invalid.issues).toHaveLength(4);
    expect(invalid.message).toBe(
      `Invalid policy: policy.defaultEffect ${EFFECT_MESSAGE}; a.actions ${EMPTY_LIST_MESSAGE}; ` +
        'a.review is only allowed on ESCALATE rules; a.id duplicate rule id "a"',
    );
    expect(picomatchSpy).not.toHaveBeenCalled();
  });

  it.each<[string, PolicyDocument]>([
    ['a bad glob', doc([rule({ resources: ['prod/{a,b'] })])],
    ['a bad rule id', doc([rule({ id: 'no spaces allowed' })])],
    ['a review on a BLOCK rule', doc([rule({ effect: 'BLOCK', review: {} })])],
    ['an invalid defaultEffect', doc([], unsafe<PolicyEffect>('allow'))],
  ])('rejects a policy with %s', (_name, document) => {
    expect(() => compilePolicy(document, 1)).toThrow(InvalidPolicyError);
  });

  it('compiles a valid policy, keeping its version, document and rules in order', () => {
    const rules = [rule({ id: 'one' }), rule({ id: 'two', effect: 'BLOCK', actions: ['db.*', 'cache.*'] })];
    const document = doc(rules, 'ALLOW');
    const compiled = compilePolicy(document, 9);
    expect(compiled.version).toBe(9);
    expect(compiled.document).toBe(document);
    expect(compiled.rules.map((r) => r.rule)).toEqual(rules);
    expect(compiled.rules[1]?.matchesAction('cache.flush')).toBe(true);
    expect(compiled.rules[1]?.matchesAction('deploy.update')).toBe(false);
    expect(compiled.rules[0]?.matchesResource('prod/api')).toBe(true);
    expect(compiled.rules[0]?.matchesResource('staging/api')).toBe(false);
  });

  it('compiles every glob exactly once, at compile time, never while evaluating', () => {
    const compiled = compilePolicy(
      doc([
        rule({ id: 'one', actions: ['deploy.*', 'db.*'], resources: ['prod/**'] }),
        rule({ id: 'two', effect: 'ESCALATE', actions: ['*'], resources: ['staging/*', 'dev/*', '**'] }),
      ]),
      1,
    );
    expect(picomatchSpy).toHaveBeenCalledTimes(7);
    expect(picomatchSpy.mock.calls.map(([glob]) => glob)).toEqual(['deploy.*', 'db.*', 'prod/**', '*', 'staging/*', 'dev/*', '**']);
    // Resources are names, not files: dot segments are matched too.
    expect(picomatchSpy.mock.calls.every(([, options]) => options?.dot === true)).toBe(true);

    const agent = { id: 'agent-1', groups: [], labels: {} };
    for (let i = 0; i < 200; i++) {
      evaluatePolicy(compiled, { action: i % 2 ? 'deploy.update' : 'read', resource: i % 3 ? 'prod/api' : 'staging/web', agent });
    }
    expect(picomatchSpy).toHaveBeenCalledTimes(7);
    expect(evaluatePolicy(compiled, { action: 'deploy.update', resource: 'prod/api', agent }).matchedRules).toEqual(['one', 'two']);
    expect(picomatchSpy).toHaveBeenCalledTimes(7);
  });

  it('does not validate or compile again when the same compiled policy is evaluated repeatedly', () => {
    const compiled = compilePolicy(doc([rule({ id: 'only', actions: ['deploy.*'], resources: ['prod/**'] })]), 2);
    picomatchSpy.mockClear();
    const agent = { id: 'agent-1', groups: [], labels: {} };
    const effects = Array.from({ length: 20 }, (_, i) =>
      evaluatePolicy(compiled, { action: 'deploy.update', resource: i % 2 ? 'prod/api' : 'dev/api', agent }).effect,
    );
    expect(effects).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 'ALLOW' : 'ESCALATE')));
    expect(picomatchSpy).not.toHaveBeenCalled();
  });
});

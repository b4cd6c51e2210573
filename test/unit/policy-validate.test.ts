import { RE2JS } from 're2js';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidPolicyError,
  POLICY_LIMITS,
  compilePolicy,
  evaluatePolicy,
  globProblem,
  readPolicyDocument,
  validatePolicy,
  type EvaluationInput,
  type PolicyDocument,
  type PolicyEffect,
  type PolicyIssue,
  type PolicyRule,
} from '../../src/policy/index.js';

// Count RE2 compilations while keeping re2js's real behaviour (the engine builds one expression per
// distinct glob that plain string comparisons cannot match).
vi.mock('re2js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('re2js')>();
  const compile = vi.fn(actual.RE2JS.compile.bind(actual.RE2JS));
  return { ...actual, RE2JS: Object.assign(Object.create(actual.RE2JS), { compile }) };
});

const rule = (overrides: Partial<PolicyRule> = {}): PolicyRule => ({
  id: 'rule-1',
  effect: 'ALLOW',
  actions: ['deploy.*'],
  resources: ['prod/**'],
  ...overrides,
});

const doc = (rules: PolicyRule[], defaultEffect: PolicyEffect = 'ESCALATE'): PolicyDocument => ({ rules, defaultEffect });

const request = (action: string, resource: string): EvaluationInput => ({
  action,
  resource,
  agent: { id: 'agent-1', name: 'bot', groups: [], labels: {} },
  onBehalfOf: null,
  params: null,
  reason: null,
  context: {},
  now: new Date('2024-07-03T08:15:00Z'),
});

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
    ['text fields at their maximum length', doc([rule({ description: 'd'.repeat(1_000), reason: 'r'.repeat(1_000) })])],
    ['a glob at its maximum length', doc([rule({ resources: ['g'.repeat(256)] })])],
    ['the maximum number of globs in a rule', doc([rule({ actions: Array.from({ length: 100 }, (_, i) => `action.${i}`) })])],
    ['every defaultEffect: ALLOW', doc([], 'ALLOW')],
    ['every defaultEffect: BLOCK', doc([], 'BLOCK')],
  ])('%s has no issues', (_name, document) => {
    expect(validatePolicy(document)).toEqual([]);
  });

  it.each(['a', '0', 'Z9', 'allow-reads', 'team:payments.deploys_v2', 'a'.repeat(100)])('accepts the rule id %j', (id) => {
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
    const issues = validatePolicy(
      doc([rule({ id: 'ok' }), rule({ id: '' }), rule({ id: unsafe<string>(undefined), effect: unsafe<PolicyEffect>('NOPE') })]),
    );
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
    const issues = validatePolicy(
      doc([rule({ id: '' }), rule({ id: '' }), rule({ id: unsafe<string>(undefined) }), rule({ id: unsafe<string>(undefined) })]),
    );
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
    ['prod/a]b', "has an unbalanced ']'"],
    ['deploy.update}', "has an unbalanced '}'"],
    ['{a,{b,c}', "has an unclosed '{'"],
    ['\\[a]', "has an unbalanced ']'"],
    ['@(a|b)', "uses '(', which is not glob syntax here: write alternatives as {a,b}, or escape it as \\("],
    ['a)', "uses ')', which is not glob syntax here: write alternatives as {a,b}, or escape it as \\)"],
    ['{a,b)', "uses ')', which is not glob syntax here: write alternatives as {a,b}, or escape it as \\)"],
    ['a|b', "uses '|', which is not glob syntax here: write alternatives as {a,b}, or escape it as \\|"],
    ['!prod/**', 'starts with !, which would negate it: negation is not supported (write a rule for what you mean, or escape it as \\!)'],
    ['a\\', 'ends with a lone \\: write \\\\ for a backslash'],
    ['{a}', 'has braces without a comma: {a,b} needs at least two alternatives'],
    ['{1..3}', 'has braces without a comma: {a,b} needs at least two alternatives'],
    ['logs/[[:alpha:]]', 'uses a [:class:], which is not supported: list the characters'],
    ['logs/[a/b]', 'has / inside [ ]: a class matches one character of a segment, never /'],
    ['logs/[z-a]', 'has a bad range z-a in [ ]'],
    ['{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}', 'has braces that make more than 64 alternatives'],
    ['a[.-0]b', 'has a range .-0 in [ ] that spans /, which a class never matches'],
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
    '{a,{b,c}}',
    'a\\!b',
    'a\\|b',
    '{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}',
    'a\\[b',
    'a\\]b',
    'a\\{b',
    'a\\}b',
    'a\\(b',
    'a\\)b',
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
    const decide = (resource: string) => evaluatePolicy(compiled, request('read', resource)).effect;
    expect(decide(matching)).toBe('ALLOW');
    expect(decide(other)).toBe('BLOCK');
  });

  it.each(['actions', 'resources'] as const)('reports each bad glob in %s with its index and the glob itself', (field) => {
    expect(validatePolicy(doc([rule({ [field]: ['ok.*', 'bad glob', 'ok2', 'x{'] })]))).toEqual([
      { ruleId: 'rule-1', field: `${field}[1]`, message: 'glob "bad glob" must not contain white space or control characters' },
      { ruleId: 'rule-1', field: `${field}[3]`, message: 'glob "x{" has an unclosed \'{\'' },
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
      maxSelectorEntries: 100,
      maxLabelValueLength: 200,
      maxConditionLength: 4_000,
      maxLimitCount: 100_000,
      maxLimitWindowSeconds: 2_592_000,
      maxEscalationSteps: 10,
      maxValidForSeconds: 604_800,
    });
  });

  it.each([
    ['zero', 'ALLOW', 0, 'must be a whole number from 1 to 604800'],
    ['a fraction', 'ESCALATE', 1.5, 'must be a whole number from 1 to 604800'],
    ['over a week', 'ALLOW', 604_801, 'must be a whole number from 1 to 604800'],
    ['on a BLOCK rule', 'BLOCK', 60, 'is only allowed on ALLOW and ESCALATE rules (a block approves nothing)'],
  ] as const)('refuses validForSeconds %s', (_name, effect, validForSeconds, message) => {
    expect(validatePolicy(doc([rule({ effect, validForSeconds })]))).toEqual([{ ruleId: 'rule-1', field: 'validForSeconds', message }]);
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
      { ruleId: 'bad id', field: 'resources[0]', message: 'glob "prod/[x" has an unclosed \'[\'' },
      { ruleId: 'bad id', field: 'resources[2]', message: 'glob "a b" must not contain white space or control characters' },
      { ruleId: 'bad id', field: 'description', message: 'must be at most 1000 characters' },
      { ruleId: 'bad id', field: 'reason', message: 'must be at most 1000 characters' },
      { ruleId: 'bad id', field: 'review', message: 'is only allowed on ESCALATE rules' },
      { ruleId: 'bad id', field: 'review.groups[0]', message: 'group "-x" is not a valid group name' },
      { ruleId: 'bad id', field: 'review.approvals', message: APPROVALS_MESSAGE },
      { ruleId: 'bad id', field: 'review.timeoutSeconds', message: TIMEOUT_MESSAGE },
      { ruleId: 'fine', field: 'actions[0]', message: 'glob "{" has an unclosed \'{\'' },
      { ruleId: 'fine', field: 'id', message: 'duplicate rule id "fine"' },
      { ruleId: '#4', field: 'id', message: ID_MESSAGE },
      { ruleId: '#4', field: 'resources', message: EMPTY_LIST_MESSAGE },
    ]);
  });
});

describe('compilePolicy', () => {
  const compileSpy = vi.mocked(RE2JS.compile);
  beforeEach(() => {
    compileSpy.mockClear();
  });

  it('throws an InvalidPolicyError carrying every issue, and compiles no glob', () => {
    const document = doc(
      [rule({ id: 'a', actions: [] }), rule({ id: 'a', effect: 'ALLOW', review: { approvals: 2 } })],
      unsafe<PolicyEffect>('NO'),
    );
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
    expect(compileSpy).not.toHaveBeenCalled();
  });

  it.each<[string, PolicyDocument]>([
    ['a bad glob', doc([rule({ resources: ['prod/{a,b'] })])],
    ['a bad rule id', doc([rule({ id: 'no spaces allowed' })])],
    ['a review on a BLOCK rule', doc([rule({ effect: 'BLOCK', review: {} })])],
    ['an invalid defaultEffect', doc([], unsafe<PolicyEffect>('allow'))],
    ['a CEL condition that does not type-check', doc([rule({ when: 'action + 1 > 2' })])],
    ['a limit out of range', doc([rule({ limit: { count: 0, windowSeconds: 60, per: 'AGENT' } })])],
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

  it('compiles every distinct glob exactly once, at compile time, never while evaluating; plain shapes need no RE2 expression', () => {
    const compiled = compilePolicy(
      doc([
        rule({ id: 'one', actions: ['deploy.*', 'deploy.{update,rollback}', 'db.drop'], resources: ['prod/**', 'prod/*/api-?'] }),
        rule({
          id: 'two',
          effect: 'ESCALATE',
          actions: ['*', 'deploy.{update,rollback}'],
          resources: ['staging/*', '**', 'prod/**', '**/api', 'prod/*/api-?'],
        }),
      ]),
      1,
    );
    // Literals, `prefix*`, `prefix/**`, `**` and braces of those are string comparisons; the rest is one RE2 program each.
    expect(compileSpy.mock.calls.map(([source]) => source)).toEqual(['prod/[^/]+/api\\-[^/]', '(?:.*/)?api']);

    for (let i = 0; i < 200; i++) {
      evaluatePolicy(compiled, request(i % 2 ? 'deploy.update' : 'read', i % 3 ? 'prod/api' : 'staging/web'));
    }
    expect(compileSpy).toHaveBeenCalledTimes(2);
    expect(evaluatePolicy(compiled, request('deploy.update', 'prod/eu/api-1')).matchedRules).toEqual(['one', 'two']);
    expect(compileSpy).toHaveBeenCalledTimes(2);
  });

  it('does not validate or compile again when the same compiled policy is evaluated repeatedly', () => {
    const compiled = compilePolicy(doc([rule({ id: 'only', actions: ['deploy.*'], resources: ['prod/**'] })]), 2);
    compileSpy.mockClear();
    const effects = Array.from(
      { length: 20 },
      (_, i) => evaluatePolicy(compiled, request('deploy.update', i % 2 ? 'prod/api' : 'dev/api')).effect,
    );
    expect(effects).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 ? 'ALLOW' : 'ESCALATE')));
    expect(compileSpy).not.toHaveBeenCalled();
  });

  it.each<[string, string, boolean]>([
    ['prod/**', 'prod', true],
    ['prod/**', 'prod/', true],
    ['prod/**', 'prod/a/b', true],
    ['prod/**', 'production', false],
    ['**', 'a/b/c', true],
    ['**/api', 'api', true],
    ['**/api', 'eu/west/api', true],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'a/xb', false],
    ['prod**', 'prodx', true],
    ['prod**', 'prod/x', false],
    ['*', 'a', true],
    ['*', 'a/b', false],
    ['prod/*', 'prod/', false],
    ['prod/*', 'prod/a', true],
    ['prod/api-*', 'prod/api-', true],
    ['*.delete', 'db.delete', true],
    ['*.delete', '.delete', true],
    ['*.delete', 'a/db.delete', false],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['[ab]x', 'bx', true],
    ['[!a]x', 'bx', true],
    ['[!a]x', 'ax', false],
    ['[^a]x', '/x', false],
    ['x[0-9]', 'x7', true],
    ['{prod,staging}/**', 'staging/x', true],
    ['a/{,b}', 'a/', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['#a', '#a', true],
    // An escaped slash is the separator all the same, alone or among alternatives.
    ['prod\\/*', 'prod/', false],
    ['{prod\\/*,x}', 'prod/', false],
    ['prod\\/*', 'prod/a', true],
    ['*', '', false],
    ['**', '', false],
  ])('glob %j on %j matches: %j', (glob, value, expected) => {
    const compiled = compilePolicy(doc([rule({ actions: ['*'], resources: [glob] })], 'BLOCK'), 1);
    expect(compiled.rules[0]!.matchesResource(value)).toBe(expected);
    // …and the index never hides a rule that matches.
    expect(evaluatePolicy(compiled, request('read', value)).matchedRules).toEqual(expected ? ['rule-1'] : []);
  });
});

describe('validatePolicy: agent selectors', () => {
  it.each<[string, PolicyRule['agents']]>([
    ['an empty selector', {}],
    ['ids', { ids: ['agent-1', 'c0ffee-42'] }],
    ['groups', { groups: ['bots', 'team:payments'] }],
    ['labels', { labels: { team: 'payments', 'greenlight/tier': 'gold', empty: '' } }],
    ['every criterion', { ids: ['a'], groups: ['g'], labels: { k: 'v' } }],
    ['null criteria, as absent', unsafe({ ids: null, groups: null, labels: null })],
  ])('accepts %s', (_name, agents) => {
    expect(validatePolicy(doc([rule({ agents })]))).toEqual([]);
  });

  it.each<[string, unknown, string, string]>([
    ['a list', ['agent-1'], 'agents', 'must be an object with ids, groups and/or labels'],
    ['a string', 'agent-1', 'agents', 'must be an object with ids, groups and/or labels'],
    ['an empty id list', { ids: [] }, 'agents.ids', 'must list at least one principal id (omit it to match any agent)'],
    ['ids as a string', { ids: 'agent-1' }, 'agents.ids', 'must list at least one principal id (omit it to match any agent)'],
    ['an empty id', { ids: ['ok', ''] }, 'agents.ids[1]', 'id "" must be a non-empty string of at most 200 characters'],
    ['a numeric id', { ids: [42] }, 'agents.ids[0]', 'id 42 must be a non-empty string of at most 200 characters'],
    ['an empty group list', { groups: [] }, 'agents.groups', 'must list at least one group (omit it to match any agent)'],
    ['an invalid group', { groups: ['sre', 'not valid'] }, 'agents.groups[1]', 'group "not valid" is not a valid group name'],
    ['groups as a string', { groups: 'sre' }, 'agents.groups', 'must be a list of group names'],
    [
      'an empty label map',
      { labels: {} },
      'agents.labels',
      'must map at least one label key to a value, e.g. {"team": "payments"} (omit it to match any agent)',
    ],
    [
      'labels as a list',
      { labels: ['team=payments'] },
      'agents.labels',
      'must map at least one label key to a value, e.g. {"team": "payments"} (omit it to match any agent)',
    ],
    [
      'a bad label key',
      { labels: { 'bad key': 'x' } },
      'agents.labels.bad key',
      'label key "bad key" must use letters, digits and _ . / - (at most 100)',
    ],
    ['a numeric label value', { labels: { team: 7 } }, 'agents.labels.team', 'label value must be a string of at most 200 characters'],
    [
      'a long label value',
      { labels: { team: 'x'.repeat(201) } },
      'agents.labels.team',
      'label value must be a string of at most 200 characters',
    ],
  ])('rejects %s', (_name, agents, field, message) => {
    expect(validatePolicy(doc([rule({ agents: unsafe(agents) })]))).toEqual([{ ruleId: 'rule-1', field, message }]);
  });

  it('rejects more than 100 ids', () => {
    const ids = Array.from({ length: 101 }, (_, i) => `a${i}`);
    expect(validatePolicy(doc([rule({ agents: { ids } })]))).toEqual([
      { ruleId: 'rule-1', field: 'agents.ids', message: 'must list at most 100 ids' },
    ]);
  });
});

describe('validatePolicy: when (CEL)', () => {
  it.each([
    'params.replicas > 10',
    'agent.labels.team == "payments"',
    'now.getHours("Europe/Paris") >= 9 && now.getDayOfWeek("Europe/Paris") < 6',
    '"hotfix" in context && context.hotfix == "true"',
    'size(reason) > 10',
    'reason.matches("^INC-[0-9]+")',
    'onBehalfOf.id != "" && "sre" in onBehalfOf.groups',
    'action in ["deploy.update", "deploy.rollback"]',
    'params.regions.all(r, r in ["eu", "us"])',
    'params.regions.filter(r, r != "eu").all(r, r == "us")',
    'now < timestamp("2030-01-01T00:00:00Z")',
    'true',
  ])('accepts %s', (when) => {
    expect(validatePolicy(doc([rule({ when })]))).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['a syntax error', 'params.replicas >', 'CEL condition does not compile: Unexpected token: EOF (at column 18)'],
    ['an unbalanced parenthesis', '(action == "x"', 'CEL condition does not compile: Expected RPAREN, got EOF (at column 15)'],
    ['adding a number to a string', 'action + 1 == 2', 'CEL condition does not type-check: no such overload: string + int (at column 1)'],
    ['an unknown variable', 'unknownVar == 1', 'CEL condition does not type-check: Unknown variable: unknownVar (at column 1)'],
    ['an unknown field of the agent', 'agent.lables.team == "x"', 'CEL condition does not type-check: No such key: lables (at column 7)'],
    ['comparing a string to an int', 'reason > 3', 'CEL condition does not type-check: no such overload: string > int (at column 1)'],
    [
      'a string result',
      'action',
      'CEL condition must be a bool condition but has type string; compare the value, e.g. `params.dryRun == true`',
    ],
    [
      'a dyn result',
      'params.dryRun',
      'CEL condition must be a bool condition but has type dyn; compare the value, e.g. `params.dryRun == true`',
    ],
    [
      'an unknown time zone',
      'now.getHours("Mars/Olympus") > 3',
      'CEL condition would fail at run time: getHours("Mars/Olympus"): unknown time zone; use an IANA name such as "Europe/Paris" or "UTC"',
    ],
    [
      'an invalid regular expression',
      'reason.matches("[")',
      'CEL condition would fail at run time: matches("[") is not an RE2 expression: error parsing regexp: missing closing ]: `[`',
    ],
    [
      'a JavaScript-only regular expression (RE2 has no lookahead)',
      'reason.matches("^(?=a)")',
      'CEL condition would fail at run time: matches("^(?=a)") is not an RE2 expression: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    ],
    [
      'a pattern that is not a literal',
      'resource.matches(reason)',
      'CEL condition would fail at run time: matches() takes a string literal as its pattern, compiled when the policy is published',
    ],
    [
      'a comprehension nested in another (quadratic in the request)',
      'params.l.all(a, params.l.exists(b, a == b))',
      'CEL condition nests a comprehension (all, exists, exists_one, map, filter) inside another: its cost would grow with the square of the request size',
    ],
    [
      'a comprehension nested in a map body',
      'params.l.map(a, params.l.filter(b, b == a).size()).size() > 0',
      'CEL condition nests a comprehension (all, exists, exists_one, map, filter) inside another: its cost would grow with the square of the request size',
    ],
    ['an empty expression', '', 'must be a non-empty CEL expression (omit it to always apply)'],
    ['blank space', '   ', 'must be a non-empty CEL expression (omit it to always apply)'],
    ['a number', 42, 'must be a non-empty CEL expression (omit it to always apply)'],
    ['a long expression', `action == "${'x'.repeat(4_000)}"`, 'must be at most 4000 characters'],
  ])("rejects %s, with the CEL compiler's message", (_name, when, message) => {
    expect(validatePolicy(doc([rule({ when: unsafe(when) })]))).toEqual([{ ruleId: 'rule-1', field: 'when', message }]);
  });

  it('rejects a condition nested deeper than the CEL limits', () => {
    const when = `${'('.repeat(60)}true${')'.repeat(60)}`;
    expect(validatePolicy(doc([rule({ when })]))).toEqual([
      { ruleId: 'rule-1', field: 'when', message: 'CEL condition does not compile: Exceeded maxDepth (50) (at column 51)' },
    ]);
  });
});

describe('validatePolicy: limit and requireReason', () => {
  const limit = (overrides: Record<string, unknown>) =>
    unsafe<PolicyRule['limit']>({ count: 3, windowSeconds: 3_600, per: 'AGENT', ...overrides });

  it.each([
    [{ count: 1, windowSeconds: 1, per: 'AGENT' }],
    [{ count: 100_000, windowSeconds: 2_592_000, per: 'AGENT_ACTION' }],
    [{ count: 3, windowSeconds: 3_600, per: 'AGENT_RESOURCE' }],
  ] as const)('accepts the limit %j', (value) => {
    expect(validatePolicy(doc([rule({ limit: value })]))).toEqual([]);
  });

  it.each<[Record<string, unknown>, string, string]>([
    [{ count: 0 }, 'limit.count', 'must be a whole number from 1 to 100000'],
    [{ count: 100_001 }, 'limit.count', 'must be a whole number from 1 to 100000'],
    [{ count: 2.5 }, 'limit.count', 'must be a whole number from 1 to 100000'],
    [{ count: '3' }, 'limit.count', 'must be a whole number from 1 to 100000'],
    [{ count: undefined }, 'limit.count', 'must be a whole number from 1 to 100000'],
    [{ windowSeconds: 0 }, 'limit.windowSeconds', 'must be a whole number from 1 to 2592000'],
    [{ windowSeconds: 2_592_001 }, 'limit.windowSeconds', 'must be a whole number from 1 to 2592000'],
    [{ windowSeconds: Number.NaN }, 'limit.windowSeconds', 'must be a whole number from 1 to 2592000'],
    [{ per: 'TEAM' }, 'limit.per', 'must be one of AGENT, AGENT_ACTION, AGENT_RESOURCE'],
    [{ per: undefined }, 'limit.per', 'must be one of AGENT, AGENT_ACTION, AGENT_RESOURCE'],
  ])('rejects the limit field in %j', (overrides, field, message) => {
    expect(validatePolicy(doc([rule({ limit: limit(overrides) })]))).toEqual([{ ruleId: 'rule-1', field, message }]);
  });

  it('rejects a limit that is not an object', () => {
    expect(validatePolicy(doc([rule({ limit: unsafe(3) })]))).toEqual([
      { ruleId: 'rule-1', field: 'limit', message: 'must be an object with count, windowSeconds and per' },
    ]);
  });

  it.each([true, false])('accepts requireReason %s', (requireReason) => {
    expect(validatePolicy(doc([rule({ requireReason })]))).toEqual([]);
  });

  it.each(['yes', 1, 'true'])('rejects requireReason %j', (requireReason) => {
    expect(validatePolicy(doc([rule({ requireReason: unsafe(requireReason) })]))).toEqual([
      { ruleId: 'rule-1', field: 'requireReason', message: 'must be true or false' },
    ]);
  });
});

describe('validatePolicy: allowAmend', () => {
  it.each([true, false])('accepts allowAmend %s on an ESCALATE rule', (allowAmend) => {
    expect(validatePolicy(doc([rule({ effect: 'ESCALATE', allowAmend })]))).toEqual([]);
  });

  it.each(['yes', 1, 'true', {}])('rejects allowAmend %j', (allowAmend) => {
    expect(validatePolicy(doc([rule({ effect: 'ESCALATE', allowAmend: unsafe(allowAmend) })]))).toEqual([
      { ruleId: 'rule-1', field: 'allowAmend', message: 'must be true or false' },
    ]);
  });

  it.each(['ALLOW', 'BLOCK'] as const)('rejects allowAmend: true on a %s rule', (effect) => {
    expect(validatePolicy(doc([rule({ effect, allowAmend: true })]))).toEqual([
      { ruleId: 'rule-1', field: 'allowAmend', message: 'is only allowed on ESCALATE rules' },
    ]);
  });

  it.each(['ALLOW', 'BLOCK'] as const)('accepts allowAmend: false on a %s rule (the API reads an unset flag back as false)', (effect) => {
    expect(validatePolicy(doc([rule({ effect, allowAmend: false })]))).toEqual([]);
  });

  it('reports a non-boolean once, not also the effect', () => {
    expect(validatePolicy(doc([rule({ effect: 'ALLOW', allowAmend: unsafe('yes') })]))).toEqual([
      { ruleId: 'rule-1', field: 'allowAmend', message: 'must be true or false' },
    ]);
  });
});

describe('validatePolicy: review timeouts and escalation', () => {
  const escalate = (review: unknown) => rule({ effect: 'ESCALATE', review: unsafe(review) });

  it.each([
    [{ onTimeout: 'EXPIRE' }],
    [
      {
        onTimeout: 'REJECT',
        timeoutSeconds: 600,
        escalation: [
          { afterSeconds: 300, groups: ['leads'] },
          { afterSeconds: 599, groups: ['cto', 'sre'] },
        ],
      },
    ],
    [{ escalation: [] }],
    [{ escalation: [{ afterSeconds: 3_599, groups: ['leads'] }] }],
    [{ timeoutSeconds: 86_400, escalation: [{ afterSeconds: 7_200, groups: ['leads'] }] }],
    [{ allowStanding: false }],
  ])('accepts %j', (review) => {
    expect(validatePolicy(doc([escalate(review)]))).toEqual([]);
  });

  it.each<[unknown, string, string]>([
    [{ onTimeout: 'IGNORE' }, 'review.onTimeout', 'must be one of EXPIRE, REJECT'],
    [{ allowStanding: 'no' }, 'review.allowStanding', 'must be true or false'],
    [{ escalation: 'later' }, 'review.escalation', 'must be a list of steps {afterSeconds, groups}'],
    [{ escalation: [5] }, 'review.escalation[0]', 'must be an object {afterSeconds, groups}'],
    [{ escalation: [{ afterSeconds: 0, groups: ['a'] }] }, 'review.escalation[0].afterSeconds', 'must be a whole number from 1 to 2592000'],
    [
      { escalation: [{ afterSeconds: 1.5, groups: ['a'] }] },
      'review.escalation[0].afterSeconds',
      'must be a whole number from 1 to 2592000',
    ],
    [
      { timeoutSeconds: 600, escalation: [{ afterSeconds: 600, groups: ['a'] }] },
      'review.escalation[0].afterSeconds',
      'must be less than review.timeoutSeconds (600), or the step never happens',
    ],
    [
      { escalation: [{ afterSeconds: 3_600, groups: ['a'] }] },
      'review.escalation[0].afterSeconds',
      'must be less than the default review.timeoutSeconds (3600), or the step never happens',
    ],
    [{ escalation: [{ afterSeconds: 60, groups: [] }] }, 'review.escalation[0].groups', 'must list at least one group'],
    [{ escalation: [{ afterSeconds: 60 }] }, 'review.escalation[0].groups', 'must be a list of group names'],
    [
      { escalation: [{ afterSeconds: 60, groups: ['ok', 'no way'] }] },
      'review.escalation[0].groups[1]',
      'group "no way" is not a valid group name',
    ],
    [
      { escalation: Array.from({ length: 11 }, (_, i) => ({ afterSeconds: i + 1, groups: ['g'] })) },
      'review.escalation',
      'must list at most 10 steps',
    ],
    ['soon', 'review', 'must be an object with groups, approvals, timeoutSeconds, onTimeout, escalation, allowStanding and/or remindAt'],
  ])('rejects %j', (review, field, message) => {
    expect(validatePolicy(doc([escalate(review)]))).toEqual([{ ruleId: 'rule-1', field, message }]);
  });

  it.each(['ALLOW', 'BLOCK'] as const)('rejects an escalation ladder on a %s rule as a review on a non-ESCALATE rule', (effect) => {
    expect(validatePolicy(doc([rule({ effect, review: { escalation: [{ afterSeconds: 60, groups: ['sre'] }] } })]))).toEqual([
      { ruleId: 'rule-1', field: 'review', message: 'is only allowed on ESCALATE rules' },
    ]);
  });
});

describe('validatePolicy: wrong types from untyped callers', () => {
  it.each<[string, unknown, PolicyIssue[]]>([
    [
      'rules that are not a list',
      { rules: 'none', defaultEffect: 'ESCALATE' },
      [{ ruleId: null, field: 'rules', message: 'must be a list of rules' }],
    ],
    [
      'a rule that is not an object',
      { rules: ['deploy'], defaultEffect: 'ESCALATE' },
      [{ ruleId: '#1', field: '', message: 'must be an object' }],
    ],
    ['a numeric id', { rules: [{ ...rule(), id: 7 }], defaultEffect: 'ESCALATE' }, [{ ruleId: '#1', field: 'id', message: ID_MESSAGE }]],
    [
      'a numeric description',
      { rules: [{ ...rule(), description: 7 }], defaultEffect: 'ESCALATE' },
      [{ ruleId: 'rule-1', field: 'description', message: 'must be a string' }],
    ],
  ])('reports %s', (_name, document, issues) => {
    expect(validatePolicy(unsafe(document))).toEqual(issues);
  });
});

describe('readPolicyDocument', () => {
  const valid = {
    rules: [
      {
        id: 'deploy-prod',
        effect: 'ESCALATE',
        agents: { labels: { team: 'payments' } },
        actions: ['deploy.*'],
        resources: ['prod/**'],
        when: 'params.replicas > 10',
        review: { groups: ['sre'], approvals: 2, onTimeout: 'REJECT', escalation: [{ afterSeconds: 600, groups: ['leads'] }] },
        allowAmend: true,
      },
      {
        id: 'three-an-hour',
        effect: 'ALLOW',
        actions: ['deploy.*'],
        resources: ['staging/**'],
        limit: { count: 3, windowSeconds: 3_600, per: 'AGENT' },
        requireReason: true,
      },
    ],
    defaultEffect: 'BLOCK',
  };

  it('returns a valid document as it is, with no issue', () => {
    expect(readPolicyDocument(valid)).toEqual({ document: valid, issues: [] });
  });

  it('defaults defaultEffect to ESCALATE and rules to none', () => {
    expect(readPolicyDocument({ rules: [rule()] })).toEqual({ document: { rules: [rule()], defaultEffect: 'ESCALATE' }, issues: [] });
    expect(readPolicyDocument({})).toEqual({ document: { rules: [], defaultEffect: 'ESCALATE' }, issues: [] });
  });

  it('reads null (YAML ~, GraphQL null) as absent for optional fields', () => {
    const { document, issues } = readPolicyDocument({
      defaultEffect: null,
      rules: [{ ...rule(), description: null, agents: null, when: null, limit: null, requireReason: null, allowAmend: null, reason: null }],
    });
    expect(issues).toEqual([]);
    expect(document).toEqual({ rules: [rule()], defaultEffect: 'ESCALATE' });
    // Absent fields are left out, not kept as undefined: the stored document is what was written.
    expect(Object.keys(document!.rules[0]!)).toEqual(['id', 'effect', 'actions', 'resources']);
  });

  it.each<[string, unknown, PolicyIssue[]]>([
    [
      'a list',
      [rule()],
      [{ ruleId: null, field: '', message: 'a policy must be an object with "rules" and optionally "defaultEffect" and "redact"' }],
    ],
    [
      'a string',
      'rules: []',
      [{ ruleId: null, field: '', message: 'a policy must be an object with "rules" and optionally "defaultEffect" and "redact"' }],
    ],
    [
      'null',
      null,
      [{ ruleId: null, field: '', message: 'a policy must be an object with "rules" and optionally "defaultEffect" and "redact"' }],
    ],
    ['rules that are not a list', { rules: { id: 'x' } }, [{ ruleId: null, field: 'rules', message: 'must be a list of rules' }]],
  ])('refuses %s', (_name, raw, issues) => {
    expect(readPolicyDocument(raw)).toEqual({ document: null, issues });
  });

  it('reports unknown fields at every level, with a suggestion for a near miss', () => {
    const { document, issues } = readPolicyDocument({
      defaultEfect: 'ALLOW',
      version: 3,
      rules: [
        {
          id: 'deploy-prod',
          efect: 'ALLOW',
          actions: ['deploy.*'],
          resources: ['prod/**'],
          agents: { label: { team: 'x' } },
          limit: { count: 3, window: 60, per: 'AGENT' },
          review: { group: ['sre'], escalation: [{ afterSeconds: 60, groups: ['a'], notify: true }] },
        },
      ],
    });
    expect(document).toBeNull();
    expect(issues).toEqual<PolicyIssue[]>([
      { ruleId: null, field: 'defaultEfect', message: 'unknown field "defaultEfect"; did you mean "defaultEffect"?' },
      { ruleId: null, field: 'version', message: 'unknown field "version"; known fields: rules, defaultEffect, redact' },
      { ruleId: 'deploy-prod', field: 'efect', message: 'unknown field "efect"; did you mean "effect"?' },
      { ruleId: 'deploy-prod', field: 'agents.label', message: 'unknown field "label"; did you mean "labels"?' },
      { ruleId: 'deploy-prod', field: 'limit.window', message: 'unknown field "window"; known fields: count, windowSeconds, per' },
      { ruleId: 'deploy-prod', field: 'review.group', message: 'unknown field "group"; did you mean "groups"?' },
      {
        ruleId: 'deploy-prod',
        field: 'review.escalation[0].notify',
        message: 'unknown field "notify"; known fields: afterSeconds, groups',
      },
      { ruleId: 'deploy-prod', field: 'effect', message: EFFECT_MESSAGE },
      { ruleId: 'deploy-prod', field: 'limit.windowSeconds', message: 'must be a whole number from 1 to 2592000' },
      { ruleId: 'deploy-prod', field: 'review', message: 'is only allowed on ESCALATE rules' },
    ]);
  });

  it('reports wrong types and every validation issue, grouped rule by rule in policy order', () => {
    const { document, issues } = readPolicyDocument({
      rules: [
        { id: 'a', effect: 'ALLOW', actions: 'deploy.*', resources: ['**'], when: 'action + 1' },
        {
          id: 'b',
          effect: 'BLOCK',
          actions: ['*'],
          resources: ['**'],
          requireReason: 'yes',
          limit: { count: '3', windowSeconds: 60, per: 'AGENT' },
        },
        { id: 'a', effect: 'ALLOW', actions: ['*'], resources: ['**'], colour: 'red' },
      ],
      defaultEffect: 'MAYBE',
    });
    expect(document).toBeNull();
    expect(issues).toEqual<PolicyIssue[]>([
      { ruleId: null, field: 'defaultEffect', message: EFFECT_MESSAGE },
      {
        ruleId: 'a',
        field: 'colour',
        message:
          'unknown field "colour"; known fields: id, description, effect, agents, actions, resources, when, limit, requireReason, validForSeconds, review, allowAmend, reason',
      },
      { ruleId: 'a', field: 'actions', message: EMPTY_LIST_MESSAGE },
      { ruleId: 'a', field: 'when', message: 'CEL condition does not type-check: no such overload: string + int (at column 1)' },
      { ruleId: 'a', field: 'id', message: 'duplicate rule id "a"' },
      { ruleId: 'b', field: 'limit.count', message: 'must be a whole number from 1 to 100000' },
      { ruleId: 'b', field: 'requireReason', message: 'must be true or false' },
    ]);
  });

  it('reads allowAmend as a known rule field, and reports a misspelling of it or a wrong value', () => {
    const escalate = { id: 'e', effect: 'ESCALATE', actions: ['*'], resources: ['**'] };
    expect(readPolicyDocument({ rules: [{ ...escalate, allowAmend: true }] })).toEqual({
      document: { rules: [{ ...escalate, allowAmend: true }], defaultEffect: 'ESCALATE' },
      issues: [],
    });
    expect(readPolicyDocument({ rules: [{ ...escalate, allowAmmend: true }] }).issues).toEqual<PolicyIssue[]>([
      { ruleId: 'e', field: 'allowAmmend', message: 'unknown field "allowAmmend"; did you mean "allowAmend"?' },
    ]);
    expect(readPolicyDocument({ rules: [{ ...escalate, effect: 'ALLOW', allowAmend: 'yes' }] }).issues).toEqual<PolicyIssue[]>([
      { ruleId: 'e', field: 'allowAmend', message: 'must be true or false' },
    ]);
  });

  it('returns a document that compiles when there is no issue', () => {
    const { document } = readPolicyDocument(valid);
    expect(compilePolicy(document!, 1).rules).toHaveLength(2);
  });
});

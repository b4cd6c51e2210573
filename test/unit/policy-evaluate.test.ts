import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_POLICY,
  DEFAULT_REVIEW,
  compilePolicy,
  evaluatePolicy,
  type CompiledPolicy,
  type EvaluationInput,
  type PolicyEffect,
  type PolicyRule,
  type ReviewRequirement,
} from '../../src/policy/index.js';

const input = (action: string, resource: string): EvaluationInput => ({
  action,
  resource,
  agent: { id: 'agent-1', groups: ['bots'], labels: { team: 'payments' } },
});

/** A rule matching every action and resource unless the overrides narrow it. */
const rule = (id: string, effect: PolicyEffect, overrides: Partial<PolicyRule> = {}): PolicyRule => ({
  id,
  effect,
  actions: ['*'],
  resources: ['**'],
  ...overrides,
});

const policy = (rules: PolicyRule[], defaultEffect: PolicyEffect = 'ESCALATE', version: number | null = 1): CompiledPolicy =>
  compilePolicy({ rules, defaultEffect }, version);

const EFFECTS: PolicyEffect[] = ['ALLOW', 'ESCALATE', 'BLOCK'];

describe('evaluatePolicy: glob matching', () => {
  describe('action globs', () => {
    it.each([
      ['deploy.*', 'deploy.update', true],
      ['deploy.*', 'deploy.rollback', true],
      ['deploy.*', 'deploy.update.canary', true],
      ['deploy.*', 'deploy', false],
      ['deploy.*', 'deployx', false],
      ['deploy.*', 'db.deploy.update', false],
      ['deploy.*', 'DEPLOY.UPDATE', false],
      ['*', 'deploy.update', true],
      ['*', 'db.query', true],
      ['*', 'read', true],
      ['deploy.{update,rollback}', 'deploy.update', true],
      ['deploy.{update,rollback}', 'deploy.rollback', true],
      ['deploy.{update,rollback}', 'deploy.delete', false],
      ['deploy.{update,rollback}', 'deploy.', false],
      ['deploy.update', 'deploy.update', true],
      ['deploy.update', 'deploy.updates', false],
      ['deploy.update', 'deployXupdate', false],
      ['*.delete', 'db.delete', true],
      ['*.delete', 'db.deleted', false],
    ])('action glob %j against %j matches: %s', (glob, action, matches) => {
      const evaluation = evaluatePolicy(policy([rule('r', 'ALLOW', { actions: [glob] })], 'BLOCK'), input(action, 'prod/api'));
      expect(evaluation.matchedRules).toEqual(matches ? ['r'] : []);
      expect(evaluation.effect).toBe(matches ? 'ALLOW' : 'BLOCK');
    });
  });

  describe('resource globs', () => {
    it.each([
      ['prod/**', 'prod/payments-api', true],
      ['prod/**', 'prod/eu/payments-api', true],
      ['prod/**', 'prod', true],
      ['prod/**', 'prod/.well-known', true],
      ['prod/**', 'production/payments-api', false],
      ['prod/**', 'staging/prod/payments-api', false],
      ['prod/*', 'prod/payments-api', true],
      ['prod/*', 'prod/payments.api', true],
      ['prod/*', 'prod/eu/payments-api', false],
      ['prod/*', 'prod', false],
      ['**', 'prod/eu/payments-api', true],
      ['**', 'payments-api', true],
      ['**', '.hidden', true],
      ['**', 'prod/.well-known/x', true],
      ['*', 'payments-api', true],
      ['*', 'prod/payments-api', false],
      ['prod/payments.api', 'prod/payments.api', true],
      ['prod/payments.api', 'prod/paymentsXapi', false],
      ['db.prod.*', 'db.prod.orders', true],
      ['db.prod.*', 'db.staging.orders', false],
      ['prod/*.internal', 'prod/billing.internal', true],
      ['prod/*.internal', 'prod/billing.internal.com', false],
      ['prod/{payments,billing}-api', 'prod/billing-api', true],
      ['prod/{payments,billing}-api', 'prod/ledger-api', false],
    ])('resource glob %j against %j matches: %s', (glob, resource, matches) => {
      const evaluation = evaluatePolicy(policy([rule('r', 'ALLOW', { resources: [glob] })], 'BLOCK'), input('deploy.update', resource));
      expect(evaluation.matchedRules).toEqual(matches ? ['r'] : []);
      expect(evaluation.effect).toBe(matches ? 'ALLOW' : 'BLOCK');
    });
  });

  it.each([
    ['deploy.update', 'prod/api', true],
    ['deploy.update', 'staging/api', false],
    ['db.query', 'prod/api', false],
    ['db.query', 'staging/api', false],
  ])('a rule matches %j on %j only when both its action and its resource globs match: %s', (action, resource, matches) => {
    const compiled = policy([rule('r', 'BLOCK', { actions: ['deploy.*'], resources: ['prod/**'] })], 'ALLOW');
    const evaluation = evaluatePolicy(compiled, input(action, resource));
    expect(evaluation.matchedRules).toEqual(matches ? ['r'] : []);
    expect(evaluation.effect).toBe(matches ? 'BLOCK' : 'ALLOW');
  });

  it.each([
    ['deploy.update', 'prod/api', true],
    ['db.migrate', 'prod/api', true],
    ['deploy.update', 'staging/api', true],
    ['db.migrate', 'staging/api', true],
    ['deploy.rollback', 'prod/api', false],
    ['deploy.update', 'dev/api', false],
  ])('a rule listing several globs matches any of them: %j on %j -> %s', (action, resource, matches) => {
    const compiled = policy(
      [rule('r', 'ALLOW', { actions: ['deploy.update', 'db.*'], resources: ['prod/**', 'staging/*'] })],
      'BLOCK',
    );
    expect(evaluatePolicy(compiled, input(action, resource)).matchedRules).toEqual(matches ? ['r'] : []);
  });
});

describe('evaluatePolicy: precedence BLOCK > ESCALATE > ALLOW', () => {
  // Every non-empty combination of matching effects, in several policy orders.
  const cases: Array<{ effects: PolicyEffect[]; winner: PolicyEffect }> = [
    { effects: ['ALLOW'], winner: 'ALLOW' },
    { effects: ['ESCALATE'], winner: 'ESCALATE' },
    { effects: ['BLOCK'], winner: 'BLOCK' },
    { effects: ['ALLOW', 'ESCALATE'], winner: 'ESCALATE' },
    { effects: ['ESCALATE', 'ALLOW'], winner: 'ESCALATE' },
    { effects: ['ALLOW', 'BLOCK'], winner: 'BLOCK' },
    { effects: ['BLOCK', 'ALLOW'], winner: 'BLOCK' },
    { effects: ['ESCALATE', 'BLOCK'], winner: 'BLOCK' },
    { effects: ['BLOCK', 'ESCALATE'], winner: 'BLOCK' },
    { effects: ['ALLOW', 'ESCALATE', 'BLOCK'], winner: 'BLOCK' },
    { effects: ['ALLOW', 'BLOCK', 'ESCALATE'], winner: 'BLOCK' },
    { effects: ['ESCALATE', 'ALLOW', 'BLOCK'], winner: 'BLOCK' },
    { effects: ['ESCALATE', 'BLOCK', 'ALLOW'], winner: 'BLOCK' },
    { effects: ['BLOCK', 'ALLOW', 'ESCALATE'], winner: 'BLOCK' },
    { effects: ['BLOCK', 'ESCALATE', 'ALLOW'], winner: 'BLOCK' },
    { effects: ['ALLOW', 'ALLOW'], winner: 'ALLOW' },
    { effects: ['ESCALATE', 'ALLOW', 'ESCALATE'], winner: 'ESCALATE' },
    { effects: ['BLOCK', 'ESCALATE', 'BLOCK', 'ALLOW'], winner: 'BLOCK' },
  ];

  describe.each(EFFECTS)('with defaultEffect %s', (defaultEffect) => {
    it.each(cases)('matching rules $effects are decided $winner', ({ effects, winner }) => {
      const rules = effects.map((effect, i) => rule(`r${i + 1}-${effect.toLowerCase()}`, effect));
      const evaluation = evaluatePolicy(policy(rules, defaultEffect), input('deploy.update', 'prod/api'));

      expect(evaluation.effect).toBe(winner);
      expect(evaluation.matchedRules).toEqual(rules.map((r) => r.id));
      expect(evaluation.decidingRules).toEqual(rules.filter((r) => r.effect === winner).map((r) => r.id));
    });
  });

  it('a BLOCK rule that does not match does not outrank a matching ALLOW rule', () => {
    const compiled = policy([rule('block-prod', 'BLOCK', { resources: ['prod/**'] }), rule('allow-all', 'ALLOW')], 'ESCALATE');
    const evaluation = evaluatePolicy(compiled, input('deploy.update', 'staging/api'));
    expect(evaluation).toMatchObject({ effect: 'ALLOW', matchedRules: ['allow-all'], decidingRules: ['allow-all'] });
  });
});

describe('evaluatePolicy: no matching rule', () => {
  it.each([
    ['ESCALATE', { ...DEFAULT_REVIEW }],
    ['ALLOW', null],
    ['BLOCK', null],
  ] as const)('falls back to the defaultEffect %s', (defaultEffect, review) => {
    const compiled = policy([rule('deploys', 'ALLOW', { actions: ['deploy.*'] })], defaultEffect, 4);
    const evaluation = evaluatePolicy(compiled, input('db.drop', 'prod/orders'));
    expect(evaluation).toEqual({
      effect: defaultEffect,
      matchedRules: [],
      decidingRules: [],
      policyVersion: 4,
      explanation: `No rule matched action "db.drop" on "prod/orders"; the policy's default effect ${defaultEffect} applies.`,
      reason: null,
      review,
    });
  });

  it.each(EFFECTS)('an empty policy with defaultEffect %s decides every request by that default', (defaultEffect) => {
    const evaluation = evaluatePolicy(policy([], defaultEffect), input('anything.at.all', 'any/where'));
    expect(evaluation.effect).toBe(defaultEffect);
    expect(evaluation.matchedRules).toEqual([]);
  });
});

describe('evaluatePolicy: the built-in policy', () => {
  it('has no rules, escalates by default and has no version', () => {
    expect(BUILT_IN_POLICY.version).toBeNull();
    expect(BUILT_IN_POLICY.rules).toEqual([]);
    expect(BUILT_IN_POLICY.document).toEqual({ rules: [], defaultEffect: 'ESCALATE' });
  });

  it.each([
    ['deploy.update', 'prod/payments-api'],
    ['db.drop', 'prod/orders'],
    ['read', 'docs'],
    ['x', '.hidden/thing'],
  ])('escalates %j on %j with the default review requirement', (action, resource) => {
    const evaluation = evaluatePolicy(BUILT_IN_POLICY, input(action, resource));
    expect(evaluation).toEqual({
      effect: 'ESCALATE',
      matchedRules: [],
      decidingRules: [],
      policyVersion: null,
      explanation: `No rule matched action "${action}" on "${resource}"; the policy's default effect ESCALATE applies.`,
      reason: null,
      review: { groups: [], approvals: 1, timeoutSeconds: 3_600 },
    });
  });

  it('returns a fresh review requirement, never the shared DEFAULT_REVIEW object', () => {
    const first = evaluatePolicy(BUILT_IN_POLICY, input('deploy.update', 'prod/api'));
    expect(first.review).toEqual(DEFAULT_REVIEW);
    expect(first.review).not.toBe(DEFAULT_REVIEW);
    expect(first.review?.groups).not.toBe(DEFAULT_REVIEW.groups);

    first.review?.groups.push('mutated');
    const second = evaluatePolicy(BUILT_IN_POLICY, input('deploy.update', 'prod/api'));
    expect(DEFAULT_REVIEW.groups).toEqual([]);
    expect(second.review?.groups).toEqual([]);
  });
});

describe('evaluatePolicy: matchedRules, decidingRules and policyVersion', () => {
  const compiled = policy(
    [
      rule('allow-reads', 'ALLOW', { actions: ['*.read', 'read'] }),
      rule('escalate-prod', 'ESCALATE', { resources: ['prod/**'] }),
      rule('allow-deploys', 'ALLOW', { actions: ['deploy.*'] }),
      rule('block-drops', 'BLOCK', { actions: ['db.drop'] }),
      rule('escalate-deploys-prod', 'ESCALATE', { actions: ['deploy.*'], resources: ['prod/*'] }),
      rule('block-prod-drops', 'BLOCK', { actions: ['db.drop'], resources: ['prod/**'] }),
    ],
    'BLOCK',
    12,
  );

  it.each([
    ['deploy.update', 'prod/api', 'ESCALATE', ['escalate-prod', 'allow-deploys', 'escalate-deploys-prod'], ['escalate-prod', 'escalate-deploys-prod']],
    ['deploy.update', 'prod/eu/api', 'ESCALATE', ['escalate-prod', 'allow-deploys'], ['escalate-prod']],
    ['deploy.update', 'staging/api', 'ALLOW', ['allow-deploys'], ['allow-deploys']],
    ['db.drop', 'prod/orders', 'BLOCK', ['escalate-prod', 'block-drops', 'block-prod-drops'], ['block-drops', 'block-prod-drops']],
    ['db.drop', 'staging/orders', 'BLOCK', ['block-drops'], ['block-drops']],
    ['db.read', 'prod/orders', 'ESCALATE', ['allow-reads', 'escalate-prod'], ['escalate-prod']],
    ['read', 'staging/orders', 'ALLOW', ['allow-reads'], ['allow-reads']],
    ['db.write', 'staging/orders', 'BLOCK', [], []],
  ] as const)('%j on %j is %s, matching %j (in policy order) and decided by %j', (action, resource, effect, matched, deciding) => {
    const evaluation = evaluatePolicy(compiled, input(action, resource));
    expect(evaluation.effect).toBe(effect);
    expect(evaluation.matchedRules).toEqual(matched);
    expect(evaluation.decidingRules).toEqual(deciding);
    expect(evaluation.policyVersion).toBe(12);
  });

  it.each([1, 7, 1_000, null])('records the version the policy was compiled with (%s)', (version) => {
    const evaluation = evaluatePolicy(policy([rule('r', 'ALLOW')], 'ESCALATE', version), input('deploy.update', 'prod/api'));
    expect(evaluation.policyVersion).toBe(version);
  });
});

describe('evaluatePolicy: reason', () => {
  it.each<{ name: string; rules: PolicyRule[]; reason: string | null }>([
    {
      name: 'the deciding rule’s reason',
      rules: [rule('a', 'BLOCK', { reason: 'Dropping tables is never automated.' })],
      reason: 'Dropping tables is never automated.',
    },
    {
      name: 'the first deciding rule’s reason when several decide',
      rules: [rule('a', 'ESCALATE', { reason: 'first' }), rule('b', 'ESCALATE', { reason: 'second' })],
      reason: 'first',
    },
    {
      name: 'the next deciding rule’s reason when the first deciding rule has none',
      rules: [rule('a', 'ESCALATE'), rule('b', 'ESCALATE', { reason: 'second' }), rule('c', 'ESCALATE', { reason: 'third' })],
      reason: 'second',
    },
    {
      name: 'the next deciding rule’s reason when the first deciding rule’s reason is empty',
      rules: [rule('a', 'ALLOW', { reason: '' }), rule('b', 'ALLOW', { reason: 'second' })],
      reason: 'second',
    },
    {
      name: 'never an outranked rule’s reason',
      rules: [rule('a', 'ALLOW', { reason: 'allowed' }), rule('b', 'ESCALATE', { reason: 'needs a human' }), rule('c', 'BLOCK')],
      reason: null,
    },
    {
      name: 'the winner’s reason even when an outranked rule comes first',
      rules: [rule('a', 'ALLOW', { reason: 'allowed' }), rule('b', 'BLOCK', { reason: 'blocked' })],
      reason: 'blocked',
    },
    { name: 'null when no deciding rule has a reason', rules: [rule('a', 'ALLOW'), rule('b', 'ALLOW')], reason: null },
    {
      name: 'null when nothing matched (the default applies)',
      rules: [rule('a', 'BLOCK', { actions: ['db.*'], reason: 'not this one' })],
      reason: null,
    },
  ])('is $name', ({ rules, reason }) => {
    expect(evaluatePolicy(policy(rules), input('deploy.update', 'prod/api')).reason).toBe(reason);
  });
});

describe('evaluatePolicy: review requirement', () => {
  it.each<{ name: string; reviews: Array<Partial<ReviewRequirement> | undefined>; expected: ReviewRequirement }>([
    { name: 'the defaults for one rule without review', reviews: [undefined], expected: DEFAULT_REVIEW },
    { name: 'the defaults for one rule with an empty review', reviews: [{}], expected: DEFAULT_REVIEW },
    {
      name: 'one rule’s own requirement',
      reviews: [{ groups: ['sre'], approvals: 2, timeoutSeconds: 600 }],
      expected: { groups: ['sre'], approvals: 2, timeoutSeconds: 600 },
    },
    {
      name: 'defaults for the fields a rule leaves unset',
      reviews: [{ groups: ['sre'] }],
      expected: { groups: ['sre'], approvals: 1, timeoutSeconds: 3_600 },
    },
    {
      name: 'the sorted union of every rule’s groups, without duplicates',
      reviews: [{ groups: ['sre', 'security'] }, { groups: ['dba', 'sre'] }, undefined],
      expected: { groups: ['dba', 'security', 'sre'], approvals: 1, timeoutSeconds: 3_600 },
    },
    {
      name: 'the largest number of approvals',
      reviews: [{ approvals: 2 }, { approvals: 5 }, { approvals: 3 }],
      expected: { groups: [], approvals: 5, timeoutSeconds: 3_600 },
    },
    {
      name: 'a rule’s approvals even when another rule leaves them unset',
      reviews: [undefined, { approvals: 3 }],
      expected: { groups: [], approvals: 3, timeoutSeconds: 3_600 },
    },
    {
      name: 'the shortest timeout',
      reviews: [{ timeoutSeconds: 1_800 }, { timeoutSeconds: 600 }, { timeoutSeconds: 7_200 }],
      expected: { groups: [], approvals: 1, timeoutSeconds: 600 },
    },
    {
      name: 'a rule’s timeout, longer than the default, when the other rules leave it unset',
      reviews: [{ timeoutSeconds: 7_200 }, undefined, {}],
      expected: { groups: [], approvals: 1, timeoutSeconds: 7_200 },
    },
    {
      name: 'each field merged independently across rules',
      reviews: [
        { groups: ['security'], approvals: 2 },
        { groups: ['sre'], timeoutSeconds: 900 },
        { approvals: 1, timeoutSeconds: 1_200 },
      ],
      expected: { groups: ['security', 'sre'], approvals: 2, timeoutSeconds: 900 },
    },
  ])('is $name', ({ reviews, expected }) => {
    const rules = reviews.map((review, i) => rule(`escalate-${i + 1}`, 'ESCALATE', review ? { review } : {}));
    const evaluation = evaluatePolicy(policy(rules, 'ALLOW'), input('deploy.update', 'prod/api'));
    expect(evaluation.effect).toBe('ESCALATE');
    expect(evaluation.review).toEqual(expected);
  });

  it('ignores the requirements of ESCALATE rules that did not match', () => {
    const compiled = policy(
      [
        rule('prod', 'ESCALATE', { resources: ['prod/**'], review: { groups: ['sre'], approvals: 2 } }),
        rule('staging', 'ESCALATE', { resources: ['staging/**'], review: { groups: ['qa'], approvals: 4, timeoutSeconds: 60 } }),
      ],
      'ALLOW',
    );
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api')).review).toEqual({ groups: ['sre'], approvals: 2, timeoutSeconds: 3_600 });
  });

  it.each([
    ['ALLOW', [rule('a', 'ALLOW')]],
    ['BLOCK', [rule('a', 'BLOCK')]],
    ['BLOCK', [rule('e', 'ESCALATE', { review: { groups: ['sre'], approvals: 3 } }), rule('b', 'BLOCK')]],
    ['ALLOW', [rule('x', 'ALLOW', { actions: ['db.*'] })]],
  ] as const)('is null when the effect is %s', (effect, rules) => {
    const evaluation = evaluatePolicy(policy([...rules], 'ALLOW'), input('deploy.update', 'prod/api'));
    expect(evaluation.effect).toBe(effect);
    expect(evaluation.review).toBeNull();
  });

  it('is the default requirement when the ESCALATE default applies', () => {
    const compiled = policy([rule('x', 'BLOCK', { actions: ['db.*'] })], 'ESCALATE');
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api')).review).toEqual({ groups: [], approvals: 1, timeoutSeconds: 3_600 });
  });
});

describe('evaluatePolicy: explanation', () => {
  it.each<{ name: string; rules: PolicyRule[]; defaultEffect?: PolicyEffect; explanation: string }>([
    {
      name: 'names the single deciding rule',
      rules: [rule('allow-deploys', 'ALLOW')],
      explanation: 'ALLOW by rule "allow-deploys", whose action and resource globs matched action "deploy.update" on "prod/api".',
    },
    {
      name: 'names every deciding rule, in policy order',
      rules: [rule('b-second', 'ESCALATE'), rule('a-first', 'ESCALATE')],
      explanation: 'ESCALATE by rules "b-second", "a-first", whose action and resource globs matched action "deploy.update" on "prod/api".',
    },
    {
      name: 'lists the outranked rules with their effects',
      rules: [rule('allow-all', 'ALLOW'), rule('block-prod', 'BLOCK'), rule('escalate-prod', 'ESCALATE')],
      explanation:
        'BLOCK by rule "block-prod", whose action and resource globs matched action "deploy.update" on "prod/api".' +
        ' Also matched but outranked by BLOCK: "allow-all" (ALLOW), "escalate-prod" (ESCALATE).',
    },
    {
      name: 'omits rules that did not match',
      rules: [rule('block-db', 'BLOCK', { actions: ['db.*'] }), rule('allow-all', 'ALLOW'), rule('escalate-all', 'ESCALATE')],
      explanation:
        'ESCALATE by rule "escalate-all", whose action and resource globs matched action "deploy.update" on "prod/api".' +
        ' Also matched but outranked by ESCALATE: "allow-all" (ALLOW).',
    },
    {
      name: 'states the default effect when nothing matched',
      rules: [rule('block-db', 'BLOCK', { actions: ['db.*'] })],
      defaultEffect: 'ALLOW',
      explanation: 'No rule matched action "deploy.update" on "prod/api"; the policy\'s default effect ALLOW applies.',
    },
  ])('$name', ({ rules, defaultEffect, explanation }) => {
    expect(evaluatePolicy(policy(rules, defaultEffect ?? 'ESCALATE'), input('deploy.update', 'prod/api')).explanation).toBe(explanation);
  });

  it.each(EFFECTS)('mentions the default effect %s when nothing matched', (defaultEffect) => {
    const { explanation } = evaluatePolicy(policy([], defaultEffect), input('db.drop', 'prod/orders'));
    expect(explanation).toContain(`default effect ${defaultEffect}`);
    expect(explanation).toContain('"db.drop"');
    expect(explanation).toContain('"prod/orders"');
  });
});

describe('evaluatePolicy: purity', () => {
  it('gives the same answer every time for the same compiled policy and input', () => {
    const compiled = policy([rule('e', 'ESCALATE', { review: { groups: ['sre'] } }), rule('a', 'ALLOW')], 'BLOCK');
    const first = evaluatePolicy(compiled, input('deploy.update', 'prod/api'));
    for (let i = 0; i < 50; i++) {
      expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api'))).toEqual(first);
    }
  });

  it('applies a rule without agent criteria to every agent alike', () => {
    const compiled = policy([rule('a', 'ALLOW', { resources: ['prod/**'] })], 'BLOCK');
    const other: EvaluationInput = { action: 'deploy.update', resource: 'prod/api', agent: { id: 'agent-2', groups: [], labels: {} } };
    expect(evaluatePolicy(compiled, other)).toEqual(evaluatePolicy(compiled, input('deploy.update', 'prod/api')));
  });
});

import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_POLICY,
  DEFAULT_REVIEW,
  compilePolicy,
  evaluatePolicy,
  limitedRuleIds,
  type AgentSelector,
  type CompiledPolicy,
  type EvaluationInput,
  type PolicyEffect,
  type PolicyRule,
  type PolicySubject,
  type ReviewRequirement,
  type RuleReviewRequirement,
  type RuleUsage,
} from '../../src/policy/index.js';

const AGENT: PolicySubject = { id: 'agent-1', name: 'deploy-bot', groups: ['bots'], labels: { team: 'payments' } };

// A Wednesday, 10:15 in Paris (UTC+2 in summer).
const NOW = new Date('2024-07-03T08:15:00Z');

const input = (action: string, resource: string, overrides: Partial<EvaluationInput> = {}): EvaluationInput => ({
  action,
  resource,
  agent: AGENT,
  onBehalfOf: null,
  params: null,
  reason: null,
  context: {},
  now: NOW,
  ...overrides,
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
    const compiled = policy([rule('r', 'ALLOW', { actions: ['deploy.update', 'db.*'], resources: ['prod/**', 'staging/*'] })], 'BLOCK');
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
  const anyReviewer: RuleReviewRequirement = { ruleId: null, groups: [], approvals: 1, escalation: [] };
  it.each([
    ['ESCALATE', { ...DEFAULT_REVIEW }, [anyReviewer], 900],
    ['ALLOW', null, [], 900],
    ['BLOCK', null, [], null],
  ] as const)('falls back to the defaultEffect %s', (defaultEffect, review, requirements, validForSeconds) => {
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
      requirements,
      amendable: false,
      standingAllowed: defaultEffect === 'ESCALATE',
      reasonRequiredBy: [],
      validForSeconds,
      errors: [],
      trace: [],
    });
  });

  it.each(EFFECTS)('an empty policy with defaultEffect %s decides every request by that default', (defaultEffect) => {
    const evaluation = evaluatePolicy(policy([], defaultEffect), input('anything.at.all', 'any/where'));
    expect(evaluation.effect).toBe(defaultEffect);
    expect(evaluation.matchedRules).toEqual([]);
  });
});

describe('evaluatePolicy: the approval window', () => {
  it.each([
    ['no deciding rule sets one: the 15-minute default', [undefined, undefined], 900],
    ['the only window set', [3_600, undefined], 3_600],
    ['the shortest window set', [3_600, 60], 60],
  ] as const)('is %s', (_name, windows, expected) => {
    const compiled = policy(windows.map((validForSeconds, i) => rule(`allow-${i}`, 'ALLOW', validForSeconds ? { validForSeconds } : {})));
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api')).validForSeconds).toBe(expected);
  });

  it('is null for a block, which approves nothing', () => {
    const compiled = policy([rule('allow', 'ALLOW', { validForSeconds: 60 }), rule('block', 'BLOCK')]);
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api')).validForSeconds).toBeNull();
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
      requirements: [{ ruleId: null, groups: [], approvals: 1, escalation: [] }],
      amendable: false,
      standingAllowed: true,
      reasonRequiredBy: [],
      validForSeconds: 900,
      errors: [],
      trace: [],
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
    [
      'deploy.update',
      'prod/api',
      'ESCALATE',
      ['escalate-prod', 'allow-deploys', 'escalate-deploys-prod'],
      ['escalate-prod', 'escalate-deploys-prod'],
    ],
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
      expected: { groups: ['dba', 'security', 'sre'], approvals: 3, timeoutSeconds: 3_600 },
    },
    {
      name: 'the sum of the rules’ approvals (a person counts once across them)',
      reviews: [{ approvals: 2 }, { approvals: 5 }, { approvals: 3 }],
      expected: { groups: [], approvals: 10, timeoutSeconds: 3_600 },
    },
    {
      name: 'a rule’s approvals plus the default 1 of a rule that leaves them unset',
      reviews: [undefined, { approvals: 3 }],
      expected: { groups: [], approvals: 4, timeoutSeconds: 3_600 },
    },
    {
      name: 'the shortest timeout',
      reviews: [{ timeoutSeconds: 1_800 }, { timeoutSeconds: 600 }, { timeoutSeconds: 7_200 }],
      expected: { groups: [], approvals: 3, timeoutSeconds: 600 },
    },
    {
      name: 'a rule’s timeout, longer than the default, when the other rules leave it unset',
      reviews: [{ timeoutSeconds: 7_200 }, undefined, {}],
      expected: { groups: [], approvals: 3, timeoutSeconds: 7_200 },
    },
    {
      name: 'each field merged independently across rules',
      reviews: [
        { groups: ['security'], approvals: 2 },
        { groups: ['sre'], timeoutSeconds: 900 },
        { approvals: 1, timeoutSeconds: 1_200 },
      ],
      expected: { groups: ['security', 'sre'], approvals: 4, timeoutSeconds: 900 },
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
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api')).review).toEqual({
      groups: ['sre'],
      approvals: 2,
      timeoutSeconds: 3_600,
    });
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
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api')).review).toEqual({
      groups: [],
      approvals: 1,
      timeoutSeconds: 3_600,
    });
  });
});

describe('evaluatePolicy: explanation', () => {
  it.each<{ name: string; rules: PolicyRule[]; defaultEffect?: PolicyEffect; explanation: string }>([
    {
      name: 'names the single deciding rule and the criteria it matched on',
      rules: [rule('allow-deploys', 'ALLOW')],
      explanation: 'ALLOW for action "deploy.update" on "prod/api", decided by rule "allow-deploys" (actions, resources).',
    },
    {
      name: 'names every deciding rule, in policy order, each with its own criteria',
      rules: [rule('b-second', 'ESCALATE', { agents: { groups: ['bots'] } }), rule('a-first', 'ESCALATE', { when: 'action != ""' })],
      explanation:
        'ESCALATE for action "deploy.update" on "prod/api", decided by rules "b-second" (agents, actions, resources) and "a-first" (actions, resources, when).',
    },
    {
      name: 'tells how much of a limit was used',
      rules: [rule('three-an-hour', 'ALLOW', { limit: { count: 3, windowSeconds: 3_600, per: 'AGENT' } })],
      explanation:
        'ALLOW for action "deploy.update" on "prod/api", decided by rule "three-an-hour" (actions, resources, limit: 0 of 3 used per 3600 s).',
    },
    {
      name: 'lists the outranked rules with their effects',
      rules: [rule('allow-all', 'ALLOW'), rule('block-prod', 'BLOCK'), rule('escalate-prod', 'ESCALATE')],
      explanation:
        'BLOCK for action "deploy.update" on "prod/api", decided by rule "block-prod" (actions, resources).' +
        ' Also matched but outranked by BLOCK: "allow-all" (ALLOW), "escalate-prod" (ESCALATE).',
    },
    {
      name: 'says why a candidate rule did not apply: its resources',
      rules: [rule('prod-db', 'BLOCK', { actions: ['deploy.*'], resources: ['prod/db/**'] }), rule('allow-all', 'ALLOW')],
      explanation:
        'ALLOW for action "deploy.update" on "prod/api", decided by rule "allow-all" (actions, resources).' +
        ' "prod-db" did not apply: its resources do not match "prod/api".',
    },
    {
      name: 'says why a candidate rule did not apply: its when condition',
      rules: [rule('prod-hours', 'BLOCK', { when: 'now.getHours("Europe/Paris") >= 18' }), rule('allow-all', 'ALLOW')],
      explanation:
        'ALLOW for action "deploy.update" on "prod/api", decided by rule "allow-all" (actions, resources).' +
        ' "prod-hours" did not apply: its when condition was false.',
    },
    {
      name: 'says why a candidate rule did not apply: its agents, and its limit',
      rules: [
        rule('sre-only', 'ALLOW', { agents: { groups: ['sre'] } }),
        rule('limited', 'ALLOW', { limit: { count: 1, windowSeconds: 60, per: 'AGENT_ACTION' } }),
      ],
      defaultEffect: 'BLOCK',
      explanation:
        'No rule matched action "deploy.update" on "prod/api"; the policy\'s default effect BLOCK applies.' +
        ' "limited" did not apply: its limit of 1 per 60 s was reached (1 used).' +
        ' "sre-only" did not apply: its agents selector does not include agent "agent-1".',
    },
    {
      name: 'reports a CEL error that made a BLOCK rule count as matched',
      rules: [rule('needs-ticket', 'BLOCK', { when: 'context.ticket == ""' })],
      explanation:
        'BLOCK for action "deploy.update" on "prod/api", decided by rule "needs-ticket" (actions, resources, when).' +
        ' "needs-ticket" counted as matched because its when condition failed (No such key: ticket (at column 9)).',
    },
    {
      name: 'reports a CEL error that kept an ALLOW rule from matching',
      rules: [rule('small-scale', 'ALLOW', { when: 'params.replicas < 5' })],
      explanation:
        'No rule matched action "deploy.update" on "prod/api"; the policy\'s default effect ESCALATE applies.' +
        ' "small-scale" did not apply: its when condition failed (No such key: replicas (at column 8)), and an error never allows.',
    },
    {
      name: 'states the default effect when nothing matched, and never mentions rules the index skipped',
      rules: [rule('block-db', 'BLOCK', { actions: ['db.*'] })],
      defaultEffect: 'ALLOW',
      explanation: 'No rule matched action "deploy.update" on "prod/api"; the policy\'s default effect ALLOW applies.',
    },
  ])('$name', ({ rules, defaultEffect, explanation }) => {
    const usage = new Map([['limited', 1]]);
    expect(evaluatePolicy(policy(rules, defaultEffect ?? 'ESCALATE'), input('deploy.update', 'prod/api'), usage).explanation).toBe(
      explanation,
    );
  });

  it.each(EFFECTS)('mentions the default effect %s when nothing matched', (defaultEffect) => {
    const { explanation } = evaluatePolicy(policy([], defaultEffect), input('db.drop', 'prod/orders'));
    expect(explanation).toContain(`default effect ${defaultEffect}`);
    expect(explanation).toContain('"db.drop"');
    expect(explanation).toContain('"prod/orders"');
  });

  it('lists the candidates closest to applying first, at most ten, and counts the rest', () => {
    const misses = Array.from({ length: 14 }, (_, i) => rule(`others-${i}`, 'BLOCK', { agents: { ids: ['someone-else'] } }));
    const compiled = policy([...misses, rule('late-when', 'BLOCK', { when: 'false' }), rule('allow-all', 'ALLOW')]);
    const { explanation } = evaluatePolicy(compiled, input('deploy.update', 'prod/api'));
    const told = explanation.match(/did not apply/g) ?? [];
    expect(told).toHaveLength(11);
    expect(explanation).toContain(
      'ALLOW for action "deploy.update" on "prod/api", decided by rule "allow-all" (actions, resources). "late-when" did not apply: its when condition was false. "others-0" did not apply: its agents selector does not include agent "agent-1".',
    );
    expect(explanation).toContain('"others-8" did not apply');
    expect(explanation).not.toContain('"others-9"');
    expect(explanation.endsWith(' 5 more candidate rules did not apply.')).toBe(true);
  });

  it('stays short with long inputs: quoted request strings are cut at 200 characters', () => {
    const { explanation } = evaluatePolicy(policy([]), input(`deploy.${'x'.repeat(5_000)}`, 'prod/api'));
    expect(explanation.length).toBeLessThan(400);
    expect(explanation).toContain('…"');
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
    const other = input('deploy.update', 'prod/api', { agent: { id: 'agent-2', name: 'other', groups: [], labels: {} } });
    expect(evaluatePolicy(compiled, other)).toEqual(evaluatePolicy(compiled, input('deploy.update', 'prod/api')));
  });
});

describe('evaluatePolicy: agent selectors', () => {
  const bot: PolicySubject = { id: 'bot-7', name: 'Bot 7', groups: ['bots', 'deployers'], labels: { team: 'payments', env: 'prod' } };

  it.each<[string, AgentSelector, boolean]>([
    ['an empty selector', {}, true],
    ['its id', { ids: ['bot-7'] }, true],
    ['one of several ids', { ids: ['bot-1', 'bot-7'] }, true],
    ['another id', { ids: ['bot-1'] }, false],
    ['an id differing only in case', { ids: ['BOT-7'] }, false],
    ['one of its groups', { groups: ['deployers'] }, true],
    ['any of several groups (OR within a criterion)', { groups: ['sre', 'bots'] }, true],
    ['groups it is not in', { groups: ['sre', 'security'] }, false],
    ['one of its labels', { labels: { team: 'payments' } }, true],
    ['all of its labels (every label must hold)', { labels: { team: 'payments', env: 'prod' } }, true],
    ['a label with another value', { labels: { team: 'search' } }, false],
    ['a label it lacks', { labels: { region: 'eu' } }, false],
    ['one matching and one mismatching label', { labels: { team: 'payments', env: 'staging' } }, false],
    ['id and group and label (AND across criteria)', { ids: ['bot-7'], groups: ['bots'], labels: { env: 'prod' } }, true],
    ['its id but a group it is not in', { ids: ['bot-7'], groups: ['sre'] }, false],
    ['its group but another id', { ids: ['bot-1'], groups: ['bots'] }, false],
    ['its id and group but a wrong label', { ids: ['bot-7'], groups: ['bots'], labels: { team: 'search' } }, false],
  ])('a rule selecting %s matches the agent: %s', (_name, agents, matches) => {
    const evaluation = evaluatePolicy(
      policy([rule('r', 'ALLOW', { agents })], 'BLOCK'),
      input('deploy.update', 'prod/api', { agent: bot }),
    );
    expect(evaluation.matchedRules).toEqual(matches ? ['r'] : []);
    expect(evaluation.trace).toEqual([{ ruleId: 'r', effect: 'ALLOW', failed: matches ? null : 'agents' }]);
  });

  it('does not mistake an inherited property for a label', () => {
    const evaluation = evaluatePolicy(
      policy([rule('r', 'ALLOW', { agents: { labels: { constructor: 'x' } } })], 'BLOCK'),
      input('deploy.update', 'prod/api', { agent: { ...bot, labels: {} } }),
    );
    expect(evaluation.effect).toBe('BLOCK');
  });
});

describe('evaluatePolicy: when conditions', () => {
  const human: PolicySubject = { id: 'user-1', name: 'Ada', groups: ['sre'], labels: { role: 'oncall' } };
  const base = input('deploy.update', 'prod/payments-api', {
    params: { replicas: 12, image: 'app:1.2', canary: true, regions: ['eu', 'us'], nested: { depth: 2 } },
    reason: 'Rolling out the fix for INC-42',
    context: { ticket: 'INC-42', hotfix: 'true' },
  });

  it.each<[string, Partial<EvaluationInput>, boolean]>([
    ['params.replicas > 10', {}, true],
    ['params.replicas > 12', {}, false],
    ['params.replicas == 12', {}, true],
    ['params.image.startsWith("app:")', {}, true],
    ['params.canary == true', {}, true],
    ['"us" in params.regions', {}, true],
    ['params.nested.depth >= 2', {}, true],
    ['has(params.missing)', {}, false],
    ['!has(params.missing) || params.missing == 1', {}, true],
    ['action == "deploy.update" && resource.endsWith("-api")', {}, true],
    ['action.startsWith("db.")', {}, false],
    ['size(reason) > 10', {}, true],
    ['reason.contains("INC-")', {}, true],
    ['reason == ""', { reason: null }, true],
    ['"hotfix" in context && context.hotfix == "true"', {}, true],
    ['"hotfix" in context', { context: {} }, false],
    ['agent.id == "agent-1" && agent.name == "deploy-bot"', {}, true],
    ['"bots" in agent.groups', {}, true],
    ['agent.groups.exists(g, g.startsWith("sec"))', {}, false],
    ['agent.labels.team == "payments"', {}, true],
    ['"env" in agent.labels', {}, false],
    ['onBehalfOf.id == ""', {}, true],
    ['onBehalfOf.id == "user-1" && "sre" in onBehalfOf.groups', { onBehalfOf: human }, true],
    ['onBehalfOf.labels.role == "oncall"', { onBehalfOf: human }, true],
    ['size(params) == 0', { params: null }, true],
    ['now > timestamp("2024-07-01T00:00:00Z")', {}, true],
    ['now.getHours() == 8', {}, true],
    // 10:15 on a Wednesday in Paris (summer time, UTC+2).
    ['now.getHours("Europe/Paris") == 10 && now.getMinutes("Europe/Paris") == 15', {}, true],
    ['now.getDayOfWeek("Europe/Paris") >= 1 && now.getDayOfWeek("Europe/Paris") <= 5', {}, true],
    // 23:30 UTC on Saturday is 01:30 on Sunday in Paris and 19:30 on Saturday in New York.
    ['now.getDayOfWeek("Europe/Paris") == 0', { now: new Date('2024-07-06T23:30:00Z') }, true],
    [
      'now.getDayOfWeek("America/New_York") == 6 && now.getHours("America/New_York") == 19',
      { now: new Date('2024-07-06T23:30:00Z') },
      true,
    ],
    // Winter time: Paris is UTC+1 in January; Tokyo has no daylight saving.
    ['now.getHours("Europe/Paris") == 9', { now: new Date('2024-01-10T08:15:00Z') }, true],
    ['now.getHours("Asia/Tokyo") == 17 && now.getDayOfMonth("Asia/Tokyo") == 9', { now: new Date('2024-01-10T08:15:00Z') }, true],
    ['now.getFullYear("Pacific/Kiritimati") == 2025', { now: new Date('2024-12-31T10:30:00Z') }, true],
  ])('%s is %s', (when, overrides, expected) => {
    const evaluation = evaluatePolicy(policy([rule('r', 'ALLOW', { when })], 'BLOCK'), { ...base, ...overrides });
    expect(evaluation.errors).toEqual([]);
    expect(evaluation.matchedRules).toEqual(expected ? ['r'] : []);
    expect(evaluation.trace).toEqual([{ ruleId: 'r', effect: 'ALLOW', failed: expected ? null : 'when' }]);
  });

  it('agrees with Intl on the hour in a time zone at every quarter hour around both 2024 DST changes in Paris', () => {
    const hours = policy(
      [rule('r', 'ALLOW', { when: 'now.getHours("Europe/Paris") * 100 + now.getMinutes("Europe/Paris") == int(context.expected)' })],
      'BLOCK',
    );
    const format = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
    for (const day of ['2024-03-30T20:00:00Z', '2024-10-26T20:00:00Z']) {
      for (let step = 0; step < 48; step++) {
        const now = new Date(Date.parse(day) + step * 900_000);
        const expected = String(Number(format.format(now).replace(':', '')));
        expect(evaluatePolicy(hours, { ...base, now, context: { expected } }).effect, now.toISOString()).toBe('ALLOW');
      }
    }
  });

  it('never changes the Date it was given', () => {
    const now = new Date('2024-07-03T08:15:00Z');
    evaluatePolicy(policy([rule('r', 'ALLOW', { when: 'now.getHours("Europe/Paris") > 1' })]), { ...base, now });
    expect(Object.keys(now)).toEqual([]);
    expect(now.toLocaleString('en-US', { timeZone: 'UTC' })).toBe('7/3/2024, 8:15:00 AM');
  });

  it('evaluates a condition only when agents, actions and resources already hold', () => {
    const compiled = policy([rule('r', 'BLOCK', { agents: { ids: ['someone-else'] }, when: 'params.missing == 1' })], 'ALLOW');
    const evaluation = evaluatePolicy(compiled, base);
    expect(evaluation.errors).toEqual([]);
    expect(evaluation.trace).toEqual([{ ruleId: 'r', effect: 'BLOCK', failed: 'agents' }]);
  });
});

describe('evaluatePolicy: a CEL runtime error never allows', () => {
  const errors: Array<[string, string, Partial<EvaluationInput>]> = [
    ['a missing params key', 'params.replicas > 3', {}],
    ['a missing label', 'agent.labels.env == "prod"', {}],
    ['a missing context key', 'context.ticket.startsWith("INC-")', {}],
    ['a wrong type in params', 'params.replicas > 3', { params: { replicas: 'many' } }],
    ['a label of the human when there is none', 'onBehalfOf.labels.role == "oncall"', {}],
    ['an invalid time zone from the request', 'now.getHours(context.zone) > 3', { context: { zone: 'Mars/Olympus' } }],
    ['a division by zero', 'int(params.n) / 0 == 1', { params: { n: 1 } }],
  ];

  describe.each(errors)('on %s (%s)', (_name, when, overrides) => {
    const request = input('deploy.update', 'prod/api', overrides);

    it.each([
      ['BLOCK', 'ALLOW', 'BLOCK', ['r'], null],
      ['ESCALATE', 'ALLOW', 'ESCALATE', ['r'], null],
      ['ALLOW', 'BLOCK', 'BLOCK', [], 'when'],
      ['ALLOW', 'ESCALATE', 'ESCALATE', [], 'when'],
    ] as const)('a %s rule with default %s decides %s, matching %j', (effect, defaultEffect, decided, matched, failed) => {
      const evaluation = evaluatePolicy(policy([rule('r', effect, { when })], defaultEffect), request);
      expect(evaluation.effect).toBe(decided);
      expect(evaluation.matchedRules).toEqual(matched);
      expect(evaluation.errors).toHaveLength(1);
      expect(evaluation.errors[0]!.ruleId).toBe('r');
      expect(evaluation.errors[0]!.message.length).toBeGreaterThan(0);
      expect(evaluation.trace).toEqual([{ ruleId: 'r', effect, failed, error: evaluation.errors[0]!.message }]);
    });
  });

  it('records each failing rule once, in policy order, and still lets a healthy ALLOW rule decide', () => {
    const compiled = policy(
      [
        rule('allow-small', 'ALLOW', { when: 'params.replicas < 5' }),
        rule('allow-all', 'ALLOW'),
        rule('allow-team', 'ALLOW', { when: 'agent.labels.env == "prod"' }),
      ],
      'BLOCK',
    );
    const evaluation = evaluatePolicy(compiled, input('deploy.update', 'prod/api'));
    expect(evaluation.effect).toBe('ALLOW');
    expect(evaluation.matchedRules).toEqual(['allow-all']);
    expect(evaluation.errors.map((error) => error.ruleId)).toEqual(['allow-small', 'allow-team']);
    expect(evaluation.errors[0]!.message).toBe('No such key: replicas (at column 8)');
  });

  it('lets an erroring ESCALATE rule outrank a matching ALLOW rule', () => {
    const compiled = policy([rule('allow-all', 'ALLOW'), rule('check-size', 'ESCALATE', { when: 'params.size > 3' })], 'ALLOW');
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api'))).toMatchObject({
      effect: 'ESCALATE',
      matchedRules: ['allow-all', 'check-size'],
      decidingRules: ['check-size'],
    });
  });
});

describe('evaluatePolicy: rate limits', () => {
  const limited = (count: number, effect: PolicyEffect = 'ALLOW') =>
    rule('three-an-hour', effect, { limit: { count, windowSeconds: 3_600, per: 'AGENT' } });

  it.each<[string, RuleUsage | undefined, PolicyEffect, string | null]>([
    ['no usage given', undefined, 'ALLOW', null],
    ['no entry for the rule', new Map([['other', 9]]), 'ALLOW', null],
    ['0 used', new Map([['three-an-hour', 0]]), 'ALLOW', null],
    ['2 of 3 used', new Map([['three-an-hour', 2]]), 'ALLOW', null],
    ['3 of 3 used', new Map([['three-an-hour', 3]]), 'ESCALATE', 'limit'],
    ['more than allowed used', new Map([['three-an-hour', 40]]), 'ESCALATE', 'limit'],
  ])('with %s the limited ALLOW rule decides %s', (_name, usage, effect, failed) => {
    const evaluation = evaluatePolicy(policy([limited(3)], 'ESCALATE'), input('deploy.update', 'prod/api'), usage);
    expect(evaluation.effect).toBe(effect);
    expect(evaluation.matchedRules).toEqual(failed ? [] : ['three-an-hour']);
    expect(evaluation.trace).toEqual([{ ruleId: 'three-an-hour', effect: 'ALLOW', failed }]);
  });

  it('also limits BLOCK and ESCALATE rules', () => {
    const usage = new Map([['three-an-hour', 1]]);
    expect(evaluatePolicy(policy([limited(1, 'BLOCK')], 'ALLOW'), input('a.b', 'c'), usage).effect).toBe('ALLOW');
    expect(evaluatePolicy(policy([limited(2, 'BLOCK')], 'ALLOW'), input('a.b', 'c'), usage).effect).toBe('BLOCK');
  });

  it('checks the limit only after every other criterion', () => {
    const compiled = policy([rule('r', 'ALLOW', { when: 'false', limit: { count: 1, windowSeconds: 60, per: 'AGENT' } })], 'BLOCK');
    expect(evaluatePolicy(compiled, input('a.b', 'c'), new Map([['r', 5]])).trace).toEqual([
      { ruleId: 'r', effect: 'ALLOW', failed: 'when' },
    ]);
  });
});

describe('limitedRuleIds', () => {
  const hourly = { count: 3, windowSeconds: 3_600, per: 'AGENT' } as const;
  const daily = { count: 10, windowSeconds: 86_400, per: 'AGENT_RESOURCE' } as const;
  const compiled = policy([
    rule('deploys', 'ALLOW', { actions: ['deploy.*'], limit: hourly }),
    rule('unlimited', 'ALLOW'),
    rule('prod', 'ALLOW', { resources: ['prod/**'], limit: daily }),
    rule('payments', 'ALLOW', { agents: { labels: { team: 'payments' } }, limit: hourly }),
    rule('search', 'ALLOW', { agents: { labels: { team: 'search' } }, limit: hourly }),
    rule('big', 'ALLOW', { when: 'params.replicas > 10', limit: daily }),
    rule('block-errors', 'BLOCK', { when: 'params.missing == 1', limit: hourly }),
  ]);

  it.each<[string, EvaluationInput, string[]]>([
    [
      'a prod deploy of a payments agent',
      input('deploy.update', 'prod/api', { params: { replicas: 3 } }),
      ['deploys', 'prod', 'payments', 'block-errors'],
    ],
    [
      'a staging deploy with many replicas',
      input('deploy.update', 'staging/api', { params: { replicas: 30 } }),
      ['deploys', 'payments', 'big', 'block-errors'],
    ],
    [
      'a database read with no params (ALLOW errors do not count, BLOCK errors do)',
      input('db.read', 'staging/db'),
      ['payments', 'block-errors'],
    ],
    [
      'a request from another team',
      input('db.read', 'dev/db', { agent: { ...AGENT, labels: { team: 'search' } }, params: { replicas: 1 } }),
      ['search', 'block-errors'],
    ],
  ])('for %s are %j, with their limits', (_name, request, expected) => {
    const limited = limitedRuleIds(compiled, request);
    expect(limited.map((entry) => entry.ruleId)).toEqual(expected);
    for (const entry of limited) expect(entry.limit).toBe(compiled.rules.find((r) => r.rule.id === entry.ruleId)!.rule.limit);
  });

  it('ignores usage: a rule over its limit still needs counting', () => {
    expect(limitedRuleIds(policy([rule('r', 'ALLOW', { limit: hourly })]), input('a.b', 'c')).map((e) => e.ruleId)).toEqual(['r']);
  });

  it('is empty for a policy without limits', () => {
    expect(limitedRuleIds(policy([rule('a', 'ALLOW'), rule('b', 'BLOCK')]), input('a.b', 'c'))).toEqual([]);
  });
});

describe('evaluatePolicy: requireReason', () => {
  it.each<[string, PolicyRule[], string[]]>([
    ['a matched rule that requires one', [rule('a', 'ALLOW', { requireReason: true })], ['a']],
    [
      'every matched rule that requires one, outranked ones too',
      [rule('a', 'ALLOW', { requireReason: true }), rule('b', 'ESCALATE', { requireReason: true }), rule('c', 'ESCALATE')],
      ['a', 'b'],
    ],
    ['no rule that does not match', [rule('a', 'ALLOW', { requireReason: true, actions: ['db.*'] }), rule('b', 'ALLOW')], []],
    ['no rule that says false', [rule('a', 'ALLOW', { requireReason: false })], []],
    [
      'no rule over its limit',
      [rule('limited', 'ALLOW', { requireReason: true, limit: { count: 1, windowSeconds: 60, per: 'AGENT' } })],
      [],
    ],
  ])('lists %s', (_name, rules, expected) => {
    const evaluation = evaluatePolicy(policy(rules), input('deploy.update', 'prod/api', { reason: 'because' }), new Map([['limited', 1]]));
    expect(evaluation.reasonRequiredBy).toEqual(expected);
  });

  it('is reported whether or not the request carries a reason (the service refuses an empty one)', () => {
    const compiled = policy([rule('a', 'ALLOW', { requireReason: true })]);
    expect(evaluatePolicy(compiled, input('a.b', 'c', { reason: null })).reasonRequiredBy).toEqual(['a']);
    expect(evaluatePolicy(compiled, input('a.b', 'c', { reason: 'ok' })).reasonRequiredBy).toEqual(['a']);
  });
});

describe('evaluatePolicy: review timeouts and escalation ladders', () => {
  it.each<{ name: string; reviews: Array<Partial<ReviewRequirement>>; expected: ReviewRequirement }>([
    { name: 'onTimeout of the only rule', reviews: [{ onTimeout: 'EXPIRE' }], expected: { ...DEFAULT_REVIEW, onTimeout: 'EXPIRE' } },
    {
      name: 'REJECT when any rule says REJECT',
      reviews: [{ onTimeout: 'EXPIRE' }, { onTimeout: 'REJECT' }, { onTimeout: 'EXPIRE' }],
      expected: { ...DEFAULT_REVIEW, approvals: 3, onTimeout: 'REJECT' },
    },
    {
      name: 'REJECT when the only rule setting it says REJECT',
      reviews: [{}, { onTimeout: 'REJECT' }],
      expected: { ...DEFAULT_REVIEW, approvals: 2, onTimeout: 'REJECT' },
    },
    {
      name: 'escalation steps of every rule, sorted by time (ties in policy order)',
      reviews: [
        {
          timeoutSeconds: 3_000,
          escalation: [
            { afterSeconds: 900, groups: ['leads'] },
            { afterSeconds: 1_800, groups: ['cto'] },
          ],
        },
        {
          escalation: [
            { afterSeconds: 300, groups: ['oncall'] },
            { afterSeconds: 900, groups: ['security'] },
          ],
        },
      ],
      expected: {
        groups: [],
        approvals: 2,
        timeoutSeconds: 3_000,
        escalation: [
          { afterSeconds: 300, groups: ['oncall'] },
          { afterSeconds: 900, groups: ['leads'] },
          { afterSeconds: 900, groups: ['security'] },
          { afterSeconds: 1_800, groups: ['cto'] },
        ],
      },
    },
  ])('merges $name', ({ reviews, expected }) => {
    const rules = reviews.map((review, i) => rule(`escalate-${i + 1}`, 'ESCALATE', { review }));
    expect(evaluatePolicy(policy(rules, 'ALLOW'), input('deploy.update', 'prod/api')).review).toEqual(expected);
  });

  it('leaves onTimeout and escalation out when no rule sets them', () => {
    const review = evaluatePolicy(policy([rule('e', 'ESCALATE', { review: { groups: ['sre'] } })], 'ALLOW'), input('a.b', 'c')).review!;
    expect(Object.keys(review).sort()).toEqual(['approvals', 'groups', 'timeoutSeconds']);
  });

  it('never shares step objects with the compiled policy', () => {
    const compiled = policy([rule('e', 'ESCALATE', { review: { escalation: [{ afterSeconds: 60, groups: ['sre'] }] } })]);
    evaluatePolicy(compiled, input('a.b', 'c')).review!.escalation![0]!.groups.push('mutated');
    expect(evaluatePolicy(compiled, input('a.b', 'c')).review!.escalation).toEqual([{ afterSeconds: 60, groups: ['sre'] }]);
  });
});

describe('evaluatePolicy: per-rule review requirements', () => {
  const escalate = (id: string, overrides: Partial<PolicyRule> = {}) => rule(id, 'ESCALATE', overrides);

  it('lists one requirement per deciding ESCALATE rule, in policy order, defaults filled and steps sorted', () => {
    const compiled = policy(
      [
        escalate('sre', { review: { groups: ['sre'], approvals: 2 } }),
        rule('allow-all', 'ALLOW'),
        escalate('security', {
          review: {
            groups: ['security'],
            timeoutSeconds: 3_000,
            escalation: [
              { afterSeconds: 1_800, groups: ['ciso'] },
              { afterSeconds: 600, groups: ['leads'] },
            ],
          },
        }),
        escalate('elsewhere', { resources: ['staging/**'], review: { groups: ['qa'], approvals: 5 } }),
      ],
      'ALLOW',
    );
    const evaluation = evaluatePolicy(compiled, input('deploy.update', 'prod/api'));
    expect(evaluation.effect).toBe('ESCALATE');
    expect(evaluation.requirements).toEqual<RuleReviewRequirement[]>([
      { ruleId: 'sre', groups: ['sre'], approvals: 2, escalation: [] },
      {
        ruleId: 'security',
        groups: ['security'],
        approvals: 1,
        escalation: [
          { afterSeconds: 600, groups: ['leads'] },
          { afterSeconds: 1_800, groups: ['ciso'] },
        ],
      },
    ]);
    // The merged summary needs 2 + 1 distinct people.
    expect(evaluation.review).toEqual({
      groups: ['security', 'sre'],
      approvals: 3,
      timeoutSeconds: 3_000,
      escalation: [
        { afterSeconds: 600, groups: ['leads'] },
        { afterSeconds: 1_800, groups: ['ciso'] },
      ],
    });
  });

  it('is one any-reviewer requirement with a null ruleId when the ESCALATE default applies', () => {
    const compiled = policy(
      [rule('x', 'BLOCK', { actions: ['db.*'] }), escalate('y', { actions: ['db.*'], allowAmend: true })],
      'ESCALATE',
    );
    const evaluation = evaluatePolicy(compiled, input('deploy.update', 'prod/api'));
    expect(evaluation.requirements).toEqual<RuleReviewRequirement[]>([{ ruleId: null, groups: [], approvals: 1, escalation: [] }]);
    expect(evaluation.amendable).toBe(false);
  });

  it.each<[string, Partial<ReviewRequirement> | undefined, RuleReviewRequirement]>([
    ['no review', undefined, { ruleId: 'e', groups: [], approvals: 1, escalation: [] }],
    ['an empty review', {}, { ruleId: 'e', groups: [], approvals: 1, escalation: [] }],
    ['only approvals', { approvals: 2 }, { ruleId: 'e', groups: [], approvals: 2, escalation: [] }],
    ['only groups and a timeout', { groups: ['dba'], timeoutSeconds: 60 }, { ruleId: 'e', groups: ['dba'], approvals: 1, escalation: [] }],
  ])('fills in the defaults for an ESCALATE rule with %s', (_name, review, expected) => {
    const evaluation = evaluatePolicy(policy([escalate('e', review ? { review } : {})], 'ALLOW'), input('deploy.update', 'prod/api'));
    expect(evaluation.requirements).toEqual([expected]);
  });

  it.each<[string, PolicyRule[], PolicyEffect]>([
    [
      'ALLOW (an ESCALATE rule that did not match does not count)',
      [rule('a', 'ALLOW'), escalate('e', { actions: ['db.*'], allowAmend: true })],
      'ALLOW',
    ],
    [
      'BLOCK (an outranked ESCALATE rule allowing amendments)',
      [escalate('e', { review: { groups: ['sre'] }, allowAmend: true }), rule('b', 'BLOCK')],
      'BLOCK',
    ],
    ['the ALLOW default', [], 'ALLOW'],
    ['the BLOCK default', [], 'BLOCK'],
  ])('is empty, and nothing is amendable, for %s', (_name, rules, effect) => {
    const evaluation = evaluatePolicy(policy(rules, effect), input('deploy.update', 'prod/api'));
    expect(evaluation.effect).toBe(effect);
    expect(evaluation.requirements).toEqual([]);
    expect(evaluation.amendable).toBe(false);
  });

  it('never shares arrays with the compiled policy', () => {
    const compiled = policy([escalate('e', { review: { groups: ['sre'], escalation: [{ afterSeconds: 60, groups: ['leads'] }] } })]);
    const [first] = evaluatePolicy(compiled, input('a.b', 'c')).requirements;
    first!.groups.push('mutated');
    first!.escalation[0]!.groups.push('mutated');
    expect(evaluatePolicy(compiled, input('a.b', 'c')).requirements).toEqual([
      { ruleId: 'e', groups: ['sre'], approvals: 1, escalation: [{ afterSeconds: 60, groups: ['leads'] }] },
    ]);
  });
});

describe('evaluatePolicy: amendable', () => {
  it.each<[string, Array<boolean | undefined>, boolean]>([
    ['the only deciding rule allows amendments', [true], true],
    ['every deciding rule allows amendments', [true, true], true],
    ['one deciding rule does not say so', [true, undefined], false],
    ['one deciding rule says false', [false, true], false],
    ['no deciding rule says so', [undefined], false],
  ])('is %s: %j → %s', (_name, flags, expected) => {
    const rules = flags.map((allowAmend, i) => rule(`e${i}`, 'ESCALATE', allowAmend === undefined ? {} : { allowAmend }));
    expect(evaluatePolicy(policy(rules, 'ALLOW'), input('deploy.update', 'prod/api')).amendable).toBe(expected);
  });

  it('ignores ESCALATE rules that did not match', () => {
    const compiled = policy([rule('prod', 'ESCALATE', { allowAmend: true }), rule('db', 'ESCALATE', { actions: ['db.*'] })], 'ALLOW');
    expect(evaluatePolicy(compiled, input('deploy.update', 'prod/api')).amendable).toBe(true);
  });
});

describe('evaluatePolicy: the index and the trace', () => {
  const compiled = policy([
    rule('deploys', 'ALLOW', { actions: ['deploy.*'] }),
    rule('db-prod', 'BLOCK', { actions: ['db.*'], resources: ['prod/**'] }),
    rule('everything-prod', 'ESCALATE', { actions: ['*'], resources: ['prod/**'] }),
    rule('deletes', 'BLOCK', { actions: ['*.delete'] }),
    rule('db-staging', 'ALLOW', { actions: ['db.query', 'db.read'], resources: ['staging/*'] }),
    rule('prefixed', 'ALLOW', { actions: ['dep*'], resources: ['staging-*/**'] }),
    rule('teams', 'ESCALATE', { actions: ['deploy.*', 'db.*'], agents: { groups: ['sre'] } }),
  ]);

  it.each<[string, string, Array<[string, string | null]>]>([
    // "prefixed" is not even looked at: its resources start with "staging-".
    [
      'deploy.update',
      'prod/api',
      [
        ['deploys', null],
        ['everything-prod', null],
        ['deletes', 'actions'],
        ['teams', 'agents'],
      ],
    ],
    [
      'db.query',
      'staging/orders',
      [
        ['deletes', 'actions'],
        ['db-staging', null],
        ['teams', 'agents'],
      ],
    ],
    [
      'db.drop',
      'prod/orders',
      [
        ['db-prod', null],
        ['everything-prod', null],
        ['deletes', 'actions'],
        ['teams', 'agents'],
      ],
    ],
    ['cache.delete', 'dev/redis', [['deletes', null]]],
    [
      'deploy.update',
      'staging-eu/api',
      [
        ['deploys', null],
        ['deletes', 'actions'],
        ['prefixed', null],
        ['teams', 'agents'],
      ],
    ],
    [
      'deployer.run',
      'staging-eu/api',
      [
        ['deletes', 'actions'],
        ['prefixed', null],
      ],
    ],
  ])('%j on %j looks only at the rules that could match, in policy order', (action, resource, trace) => {
    const evaluation = evaluatePolicy(compiled, input(action, resource));
    expect(evaluation.trace.map((t) => [t.ruleId, t.failed])).toEqual(trace);
    expect(evaluation.matchedRules).toEqual(trace.filter(([, failed]) => failed === null).map(([id]) => id));
  });

  it('reports the first failing criterion in the order agents, actions, resources, when, limit', () => {
    const everything = policy([
      rule('a', 'ALLOW', {
        agents: { ids: ['x'] },
        actions: ['*.nope'],
        resources: ['prod/nope/**'],
        when: 'false',
        limit: { count: 1, windowSeconds: 1, per: 'AGENT' },
      }),
      rule('b', 'ALLOW', { actions: ['*.nope'], resources: ['prod/nope/**'], when: 'false' }),
      rule('c', 'ALLOW', { resources: ['prod/nope/**'], when: 'false' }),
      rule('d', 'ALLOW', { when: 'false', limit: { count: 1, windowSeconds: 1, per: 'AGENT' } }),
      rule('e', 'ALLOW', { limit: { count: 1, windowSeconds: 1, per: 'AGENT' } }),
    ]);
    const usage = new Map(['a', 'b', 'c', 'd', 'e'].map((id) => [id, 1]));
    expect(evaluatePolicy(everything, input('deploy.update', 'prod/api'), usage).trace.map((t) => t.failed)).toEqual([
      'agents',
      'actions',
      'resources',
      'when',
      'limit',
    ]);
  });
});

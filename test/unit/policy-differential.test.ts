/**
 * Differential test of the policy engine: random rule sets × random requests, decided by the
 * compiled, indexed engine and by a deliberately naive reference evaluator written below from the
 * rules of issue 3 (every rule checked in order, globs by a naive backtracking matcher, CEL through
 * cel-js's plain `parse` with untyped variables and a plain Date, so the engine's typed
 * environment and its time-zone shortcut are checked too). Everything is seeded: a failure names
 * the seed and the case, and reproduces exactly.
 */
import { parse as parseCel } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import {
  compilePolicy,
  evaluatePolicy,
  globProblem,
  limitedRuleIds,
  type EvaluationInput,
  type PolicyEffect,
  type PolicyRule,
  type PolicySubject,
  type ReviewRequirement,
  type RuleReviewRequirement,
} from '../../src/policy/index.js';
import { buildRuleIndex } from '../../src/policy/rule-index.js';
import { prng, type Random } from '../support/prng.js';
import { referenceGlobMatches } from '../support/reference-glob.js';

const SEED = 20_240_703;
const RULE_SETS = 1_000;
const REQUESTS_PER_SET = 100; // 100,000 pairs in all

// ——— generators ———

const ACTION_SEGMENTS = ['a', 'ab', 'b', 'deploy', 'x-y'];
const RESOURCE_SEGMENTS = ['prod', 'p', 'staging', 'prod-eu', 'a.b'];
/** Glob pieces; joined at random they give the odd globs people write, and some nobody should. */
const GLOB_TOKENS = ['*', '**', '?', '{a,b}', '{,x}', '{a,{b,*}}', '[ab]', '[!a]', '[a-c]', '.', '/', './', '#', '\\*', '\\{'];

function randomGlob(r: Random, segments: readonly string[], separator: string): string {
  for (;;) {
    let glob: string;
    const shape = r.int(10);
    if (shape < 2) glob = r.some(segments, 2).join(separator);
    else if (shape < 5) glob = `${r.some(segments, 2).join(separator)}${separator}${r.pick(['*', '**', '?', '{a,b}', '*-*'])}`;
    else if (shape < 7)
      glob = r.pick([
        '*',
        '**',
        '*.*',
        '**/x',
        '*/**',
        '*.b',
        '{prod,staging}/**',
        'a*',
        'prod*',
        'd*.*',
        'p*/**',
        'a/**',
        'deploy/**',
        'a.b/**',
        'prod/**/x',
        './a',
        'x-*.{a,b}',
      ]);
    else
      glob = Array.from({ length: 1 + r.int(4) }, () => (r.chance(0.5) ? r.pick(GLOB_TOKENS) : r.pick(segments))).join(
        r.chance(0.5) ? separator : '',
      );
    if (globProblem(glob) === null) return glob;
  }
}

/** A value some glob of the rule set probably matches: its wildcards filled in. */
function instantiate(r: Random, glob: string, segments: readonly string[]): string {
  return (
    glob
      .replace(/^!/, '')
      // A globstar may also eat the slash before it (`prod/**` matches `prod`); a star may match nothing.
      .replace(/\/\*\*$/, (m) => (r.chance(0.3) ? '' : m))
      .replace(/\*\*|\*|\?/g, () => (r.chance(0.2) ? '' : r.pick(segments)))
      .replace(/\{([^,}]*),[^}]*\}|\[([^\]])[^\]]*\]|[@+!]\(([^|)]*)[^)]*\)/g, (_m, a = '', b = '', c = '') => `${a}${b}${c}`)
  );
}

function randomValue(r: Random, segments: readonly string[], separator: string): string {
  if (r.chance(0.1))
    return r.pick(['', '.', '/', './a', 'a/', 'a.', '.a', 'a..b', 'prod//x', 'prod/./x', 'prod/../x', '*', '{a,b}', 'a.b/c', '#a']);
  if (r.chance(0.1))
    return Array.from({ length: 1 + r.int(3) }, () => r.pick([...segments, ...GLOB_TOKENS])).join(r.pick([separator, '', '.', '/']));
  return r.some(segments, 3).join(separator);
}

const CONDITIONS = [
  'params.replicas > 10',
  'params.replicas <= 3 || params.canary == true',
  'agent.labels.team == "payments"',
  '"hotfix" in context && context.hotfix == "true"',
  'context.ticket.startsWith("INC-")',
  'size(reason) > 10',
  'reason == ""',
  'action.endsWith(".b") || resource.startsWith("prod")',
  'onBehalfOf.id != "" && "sre" in onBehalfOf.groups',
  '"g1" in agent.groups',
  'agent.id == "a1" || agent.name == "Two"',
  'now.getDayOfWeek("Europe/Paris") == 0 || now.getHours("America/New_York") < 9',
  'now > timestamp("2024-06-01T00:00:00Z")',
  'params.regions.exists(x, x == "eu")',
];

const AGENT_IDS = ['a1', 'a2', 'a3', 'a4'];
const GROUPS = ['g1', 'g2', 'sre'];

function randomRule(r: Random, id: string): PolicyRule {
  const effect = r.pick<PolicyEffect>(['ALLOW', 'ESCALATE', 'BLOCK']);
  // Broad rules overlap with the others, so that several rules match and precedence decides.
  const broad = r.chance(0.3);
  const rule: PolicyRule = {
    id,
    effect,
    actions: broad
      ? [r.pick(['*', '**', 'a*', '*.*', '*-*', 'deploy.*'])]
      : Array.from({ length: 1 + r.int(r.chance(0.8) ? 1 : 3) }, () => randomGlob(r, ACTION_SEGMENTS, '.')),
    resources: broad
      ? [r.pick(['**', 'prod/**', '*', 'p*/**', '{prod,staging}/**'])]
      : Array.from({ length: 1 + r.int(r.chance(0.8) ? 1 : 3) }, () => randomGlob(r, RESOURCE_SEGMENTS, '/')),
  };
  if (r.chance(0.25)) {
    rule.agents = {};
    if (r.chance(0.5)) rule.agents.ids = r.some(AGENT_IDS, 2);
    if (r.chance(0.5)) rule.agents.groups = r.some(GROUPS, 2);
    if (r.chance(0.5))
      rule.agents.labels = r.chance(0.7) ? { team: r.pick(['payments', 'search']) } : { team: 'payments', env: r.pick(['prod', 'dev']) };
  }
  if (r.chance(0.3)) rule.when = r.pick(CONDITIONS);
  if (r.chance(0.15))
    rule.limit = { count: 1 + r.int(3), windowSeconds: 3_600, per: r.pick(['AGENT', 'AGENT_ACTION', 'AGENT_RESOURCE'] as const) };
  if (r.chance(0.2)) rule.requireReason = r.chance(0.8);
  if (effect === 'ESCALATE' && r.chance(0.7)) {
    const timeoutSeconds = r.chance(0.5) ? 600 + r.int(4) * 600 : undefined;
    rule.review = {
      groups: r.chance(0.7) ? r.some(GROUPS, 2) : undefined,
      approvals: r.chance(0.5) ? 1 + r.int(3) : undefined,
      timeoutSeconds,
    };
    if (r.chance(0.6)) rule.review.onTimeout = r.pick(['EXPIRE', 'REJECT'] as const);
    // One or two steps, not necessarily in time order: each rule's requirement sorts its own.
    if (r.chance(0.3))
      rule.review.escalation = Array.from({ length: 1 + r.int(2) }, () => ({ afterSeconds: 1 + r.int(500), groups: [r.pick(GROUPS)] }));
  }
  if (effect === 'ESCALATE' && r.chance(0.5)) rule.allowAmend = r.chance(0.8);
  if (r.chance(0.2)) rule.reason = `because ${id}`;
  return rule;
}

const SUBJECTS: PolicySubject[] = [
  { id: 'a1', name: 'One', groups: ['g1'], labels: { team: 'payments', env: 'prod' } },
  { id: 'a2', name: 'Two', groups: ['g2', 'sre'], labels: { team: 'search' } },
  { id: 'a3', name: 'Three', groups: [], labels: {} },
  { id: 'a4', name: 'Four', groups: ['g1', 'g2'], labels: { team: 'payments', env: 'dev' } },
];
const HUMAN: PolicySubject = { id: 'h1', name: 'Ada', groups: ['sre'], labels: { role: 'oncall' } };

function randomRequest(r: Random, rules: readonly PolicyRule[]): EvaluationInput {
  // Most requests aim at one rule, so that rules match often enough to compete and to run CEL.
  const target = r.chance(0.6) ? r.pick(rules) : null;
  const params = r.chance(0.2)
    ? null
    : {
        ...(r.chance(0.8) ? { replicas: r.chance(0.9) ? r.int(20) : 'many' } : {}),
        ...(r.chance(0.5) ? { canary: r.chance(0.5) } : {}),
        ...(r.chance(0.5) ? { regions: r.some(['eu', 'us', 'ap'], 2) } : {}),
      };
  const context: Record<string, string> = {};
  if (r.chance(0.4)) context['hotfix'] = r.pick(['true', 'false']);
  if (r.chance(0.5)) context['ticket'] = r.pick(['INC-1', 'CHG-2']);
  return {
    action: target ? instantiate(r, r.pick(target.actions), ACTION_SEGMENTS) : randomValue(r, ACTION_SEGMENTS, '.'),
    resource: target ? instantiate(r, r.pick(target.resources), RESOURCE_SEGMENTS) : randomValue(r, RESOURCE_SEGMENTS, '/'),
    agent: r.pick(SUBJECTS),
    onBehalfOf: r.chance(0.3) ? HUMAN : null,
    params,
    reason: r.pick([null, '', 'short', 'a long enough reason']),
    context,
    // Any quarter of an hour in 2024, so weekdays, nights and both DST changes occur.
    now: new Date(Date.UTC(2024, 0, 1) + r.int(366 * 96) * 900_000 + r.int(900) * 1_000),
  };
}

// ——— the naive reference ———

const globMatches = referenceGlobMatches;

const conditions = new Map<string, ReturnType<typeof parseCel>>();
/** true / false, or the error that the rule's effect then interprets. */
function conditionHolds(expression: string, input: EvaluationInput): boolean | Error {
  let condition = conditions.get(expression);
  if (!condition) conditions.set(expression, (condition = parseCel(expression)));
  const nobody = { id: '', name: '', groups: [], labels: {} };
  try {
    const value: unknown = condition({
      agent: { ...input.agent },
      onBehalfOf: input.onBehalfOf ? { ...input.onBehalfOf } : nobody,
      action: input.action,
      resource: input.resource,
      reason: input.reason ?? '',
      params: input.params ?? {},
      context: input.context,
      now: input.now,
    });
    return typeof value === 'boolean' ? value : new Error(`not a bool: ${String(value)}`);
  } catch (error) {
    return error as Error;
  }
}

interface Reference {
  effect: PolicyEffect;
  matchedRules: string[];
  decidingRules: string[];
  reasonRequiredBy: string[];
  erroredRules: string[];
  review: ReviewRequirement | null;
  requirements: RuleReviewRequirement[];
  amendable: boolean;
  /** Per rule: whether both its action and resource globs match (what the index may use). */
  globsMatch: Map<string, boolean>;
  firstFailed: Map<string, string | null>;
  limited: string[];
}

function reference(rules: PolicyRule[], defaultEffect: PolicyEffect, input: EvaluationInput, usage: Map<string, number>): Reference {
  const matched: PolicyRule[] = [];
  const erroredRules: string[] = [];
  const globsMatch = new Map<string, boolean>();
  const firstFailed = new Map<string, string | null>();
  const limited: string[] = [];
  for (const rule of rules) {
    const selector = rule.agents ?? {};
    const agentOk =
      (selector.ids === undefined || selector.ids.includes(input.agent.id)) &&
      (selector.groups === undefined || selector.groups.some((g) => input.agent.groups.includes(g))) &&
      (selector.labels === undefined ||
        Object.keys(selector.labels).every((k) => Object.hasOwn(input.agent.labels, k) && input.agent.labels[k] === selector.labels![k]));
    const actionOk = rule.actions.some((glob) => globMatches(glob, input.action));
    const resourceOk = rule.resources.some((glob) => globMatches(glob, input.resource));
    globsMatch.set(rule.id, actionOk && resourceOk);
    let whenOk = true;
    if (agentOk && actionOk && resourceOk && rule.when !== undefined) {
      const holds = conditionHolds(rule.when, input);
      if (holds instanceof Error) {
        erroredRules.push(rule.id);
        whenOk = rule.effect !== 'ALLOW';
      } else whenOk = holds;
    }
    const limitOk = !rule.limit || (usage.get(rule.id) ?? 0) < rule.limit.count;
    if (rule.limit && agentOk && actionOk && resourceOk && whenOk) limited.push(rule.id);
    const failed = !agentOk ? 'agents' : !actionOk ? 'actions' : !resourceOk ? 'resources' : !whenOk ? 'when' : !limitOk ? 'limit' : null;
    firstFailed.set(rule.id, failed);
    if (failed === null) matched.push(rule);
  }
  const effect = matched.some((r) => r.effect === 'BLOCK')
    ? 'BLOCK'
    : matched.some((r) => r.effect === 'ESCALATE')
      ? 'ESCALATE'
      : matched.length > 0
        ? 'ALLOW'
        : defaultEffect;
  const deciding = matched.filter((r) => r.effect === effect);
  let review: ReviewRequirement | null = null;
  let requirements: RuleReviewRequirement[] = [];
  if (effect === 'ESCALATE') {
    requirements =
      deciding.length === 0
        ? [{ ruleId: null, groups: [], approvals: 1, escalation: [] }]
        : deciding.map((r) => ({
            ruleId: r.id,
            groups: r.review?.groups ?? [],
            approvals: r.review?.approvals ?? 1,
            escalation: [...(r.review?.escalation ?? [])].sort((a, b) => a.afterSeconds - b.afterSeconds),
          }));
    const reviews = deciding.map((r) => r.review ?? {});
    const timeouts = reviews.flatMap((v) => (v.timeoutSeconds === undefined ? [] : [v.timeoutSeconds]));
    const onTimeouts = reviews.flatMap((v) => (v.onTimeout === undefined ? [] : [v.onTimeout]));
    const steps = reviews.flatMap((v) => v.escalation ?? []);
    review = {
      groups: [...new Set(reviews.flatMap((v) => v.groups ?? []))].sort(),
      approvals: requirements.reduce((sum, v) => sum + v.approvals, 0),
      timeoutSeconds: timeouts.length > 0 ? Math.min(...timeouts) : 3_600,
    };
    if (onTimeouts.length > 0) review.onTimeout = onTimeouts.includes('REJECT') ? 'REJECT' : 'EXPIRE';
    if (steps.length > 0) review.escalation = [...steps].sort((a, b) => a.afterSeconds - b.afterSeconds);
  }
  return {
    effect,
    matchedRules: matched.map((r) => r.id),
    decidingRules: deciding.map((r) => r.id),
    reasonRequiredBy: matched.filter((r) => r.requireReason === true).map((r) => r.id),
    erroredRules,
    review,
    requirements,
    amendable: effect === 'ESCALATE' && deciding.length > 0 && deciding.every((r) => r.allowAmend === true),
    globsMatch,
    firstFailed,
    limited,
  };
}

// ——— the comparison ———

interface Stats {
  pairs: number;
  /** Rules the engine looked at, against rules in the sets: what the index saved. */
  looked: number;
  total: number;
  effects: Record<PolicyEffect, number>;
  withErrors: number;
  defaulted: number;
  contested: number;
  /** Escalations with several per-rule requirements, and those reviewers may amend. */
  severalRequirements: number;
  amendable: number;
}

/** Runs `sets` × `perSet` random pairs through both evaluators; throws on the first difference. */
function compare(seed: number, sets: number, perSet: number, mergeBudget?: number): Stats {
  const r = prng(seed);
  const stats: Stats = {
    pairs: 0,
    looked: 0,
    total: 0,
    effects: { ALLOW: 0, ESCALATE: 0, BLOCK: 0 },
    withErrors: 0,
    defaulted: 0,
    contested: 0,
    severalRequirements: 0,
    amendable: 0,
  };
  for (let set = 0; set < sets; set++) {
    const rules = Array.from({ length: 1 + r.int(r.chance(0.1) ? 60 : 16) }, (_, i) => randomRule(r, `r${i}`));
    const defaultEffect = r.pick<PolicyEffect>(['ALLOW', 'ESCALATE', 'BLOCK']);
    const compiled = compilePolicy({ rules, defaultEffect }, set);
    const policy = mergeBudget === undefined ? compiled : { ...compiled, index: buildRuleIndex(rules, { mergeBudget }) };
    for (let n = 0; n < perSet; n++) {
      const input = randomRequest(r, rules);
      const usage = new Map(rules.filter((rule) => rule.limit && r.chance(0.7)).map((rule) => [rule.id, r.int(4)]));
      const expected = reference(rules, defaultEffect, input, usage);
      const actual = evaluatePolicy(policy, input, usage);
      // Built only on a failure: it holds the whole case, to reproduce it.
      const where = () =>
        `seed ${seed}, rule set ${set}, request ${n}: ${JSON.stringify({ rules, defaultEffect, input, usage: [...usage] })}\n` +
        `engine: ${JSON.stringify(actual)}\nreference: ${JSON.stringify({ ...expected, globsMatch: [...expected.globsMatch], firstFailed: [...expected.firstFailed] })}`;
      const agree = (same: boolean, what: string) => {
        if (!same) expect.unreachable(`${what} differs at ${where()}`);
      };
      agree(actual.effect === expected.effect, 'effect');
      agree(actual.matchedRules.join() === expected.matchedRules.join(), 'matchedRules');
      agree(actual.decidingRules.join() === expected.decidingRules.join(), 'decidingRules');
      agree(actual.reasonRequiredBy.join() === expected.reasonRequiredBy.join(), 'reasonRequiredBy');
      agree(actual.errors.map((e) => e.ruleId).join() === expected.erroredRules.join(), 'errors');
      agree(JSON.stringify(actual.review) === JSON.stringify(expected.review), 'review');
      agree(JSON.stringify(actual.requirements) === JSON.stringify(expected.requirements), 'requirements');
      agree(actual.amendable === expected.amendable, 'amendable');
      // The trace holds every rule whose globs match, each with the reference's first failure;
      // a rule the index left out could not have matched the action and resource.
      const traced = new Set(actual.trace.map((t) => t.ruleId));
      for (const rule of rules) agree(!expected.globsMatch.get(rule.id) || traced.has(rule.id), `trace (${rule.id} missing)`);
      for (const entry of actual.trace) agree(entry.failed === expected.firstFailed.get(entry.ruleId), `trace (${entry.ruleId})`);
      agree(
        limitedRuleIds(policy, input)
          .map((l) => l.ruleId)
          .join() === expected.limited.join(),
        'limitedRuleIds',
      );
      stats.pairs++;
      stats.looked += actual.trace.length;
      stats.total += rules.length;
      stats.effects[actual.effect]++;
      if (actual.errors.length > 0) stats.withErrors++;
      if (actual.decidingRules.length === 0) stats.defaulted++;
      if (actual.matchedRules.length > 1) stats.contested++;
      if (actual.requirements.length > 1) stats.severalRequirements++;
      if (actual.amendable) stats.amendable++;
    }
  }
  return stats;
}

describe('the compiled, indexed engine agrees with a naive reference evaluator', () => {
  it(`on ${RULE_SETS * REQUESTS_PER_SET} random rule sets × requests (seed ${SEED})`, () => {
    const stats = compare(SEED, RULE_SETS, REQUESTS_PER_SET);
    expect(stats.pairs).toBe(RULE_SETS * REQUESTS_PER_SET);
    // The random sets exercise every outcome, CEL errors and ties, and the index does skip rules.
    for (const count of Object.values(stats.effects)) expect(count).toBeGreaterThan(stats.pairs / 5);
    expect(stats.withErrors).toBeGreaterThan(stats.pairs / 50);
    expect(stats.defaulted).toBeGreaterThan(stats.pairs / 5);
    expect(stats.contested).toBeGreaterThan(stats.pairs / 10);
    expect(stats.looked).toBeLessThan(stats.total / 3);
    expect(stats.severalRequirements).toBeGreaterThan(stats.pairs / 100);
    expect(stats.amendable).toBeGreaterThan(stats.pairs / 50);
  });

  it('also when policy-wide rules keep their own bucket (the index without its merge step)', () => {
    expect(compare(SEED + 1, 200, 100, 0).pairs).toBe(20_000);
  });
});

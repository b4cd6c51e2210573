/**
 * Matching cannot be stalled: every glob (policy rules, delegations, audit filters) and every
 * regular expression (CEL `matches`) runs in time linear in its input, on any input an agent,
 * reviewer or auditor can send, at the largest sizes the API accepts. These inputs made the old
 * backtracking matchers run for seconds to minutes; here each call must simply return (the test
 * would time out otherwise), and give the right answer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditFilterMatcher } from '../../src/audit/query.js';
import type { AuditEventRow } from '../../src/db/schema.js';
import { compilePolicy, evaluatePolicy, GLOB_LIMITS, globProblem, type EvaluationInput, type PolicyRule } from '../../src/policy/index.js';
import { compileGlob } from '../../src/policy/globs.js';
import { referenceGlobMatches } from '../support/reference-glob.js';

const MAX_RESOURCE = 1_000; // RequestActionInput.resource
const MAX_ACTION = 200; // RequestActionInput.action
const MAX_PARAMS = 64 * 1_024; // bytes of JSON
const MAX_REASON = 2_000;

/** Glob pieces that make backtracking matchers explode, and ordinary ones. */
const GLOB_PIECES = ['*', '**', '?', '-', 'a', 'b', '/', '.', '[a-c]', '[!b]', '{a,b}', '{a*,*b}', '\\*', 'prod'];

/** A valid glob of up to the maximum length, made of adversarial pieces. */
const arbitraryGlob = (maxPieces: number) =>
  fc
    .array(fc.constantFrom(...GLOB_PIECES), { minLength: 1, maxLength: maxPieces })
    .map((pieces) => pieces.join('').slice(0, GLOB_LIMITS.maxLength))
    .filter((glob) => globProblem(glob) === null);

const arbitraryValue = (maxLength: number) =>
  fc.array(fc.constantFrom('a', 'b', 'c', '-', '/', '.', 'prod', '*'), { maxLength }).map((parts) => parts.join('').slice(0, maxLength));

describe('globs match in time linear in the value', () => {
  it('agree with a naive reference matcher on small globs and values', () => {
    fc.assert(
      fc.property(arbitraryGlob(6), arbitraryValue(12), (glob, value) => {
        expect(compileGlob(glob)(value)).toBe(referenceGlobMatches(glob, value));
      }),
      { numRuns: 5_000, seed: 20_261_203 },
    );
  });

  it.each([
    ['prod/*-*-*-*', `prod/${'-'.repeat(MAX_RESOURCE - 6)}x/`, false],
    ['prod/*-*-*-*', `prod/${'-'.repeat(MAX_RESOURCE - 5)}`, true],
    ['*a*a*a*a*a*ab', 'a'.repeat(MAX_RESOURCE), false],
    ['**/a/**/a/**/a/**/a/**/b', 'a/'.repeat(MAX_RESOURCE / 2), false],
    ['{*a,a*}{*a,a*}{*a,a*}{*a,a*}{*a,a*}{*a,a*}c', 'a'.repeat(MAX_RESOURCE), false],
    [`${'?'.repeat(GLOB_LIMITS.maxLength - 1)}*`, 'x'.repeat(MAX_RESOURCE), true],
  ])('%s on a %#-th adversarial value of the largest size', (glob, value, expected) => {
    expect(globProblem(glob)).toBeNull();
    expect(compileGlob(glob)(value)).toBe(expected);
  });

  it('finish on generated worst cases: globs of the largest size against values of the largest size', () => {
    fc.assert(
      fc.property(arbitraryGlob(200), arbitraryValue(MAX_RESOURCE), (glob, value) => {
        expect(typeof compileGlob(glob)(value)).toBe('boolean');
      }),
      { numRuns: 300, seed: 20_261_204 },
    );
  });

  it('finish in a whole policy decision, with many such rules at once', () => {
    const rules: PolicyRule[] = Array.from({ length: 100 }, (_, i) => ({
      id: `r${i}`,
      effect: 'BLOCK',
      actions: ['*a*a*a*a*a*ab', `x${i}.*-*-*-*`],
      resources: ['prod/*-*-*-*', '**/a/**/a/**/b', `{*a,a*}{*a,a*}{*a,a*}{*a,a*}${i}`],
    }));
    const policy = compilePolicy({ rules, defaultEffect: 'ALLOW' }, 1);
    const input: EvaluationInput = {
      action: 'a'.repeat(MAX_ACTION),
      resource: `prod/${'-'.repeat(MAX_RESOURCE - 5)}`,
      agent: { id: 'agent', name: 'agent', groups: [], labels: {} },
      onBehalfOf: null,
      params: null,
      reason: null,
      context: {},
      now: new Date(0),
    };
    expect(evaluatePolicy(policy, input).effect).toBe('ALLOW');
  });
});

describe('CEL matches() runs on RE2', () => {
  const decide = (when: string, params: Record<string, unknown>, reason = '') => {
    const policy = compilePolicy(
      { rules: [{ id: 'r', effect: 'BLOCK', actions: ['*'], resources: ['**'], when }], defaultEffect: 'ALLOW' },
      1,
    );
    return evaluatePolicy(policy, {
      action: 'deploy',
      resource: 'prod/api',
      agent: { id: 'agent', name: 'agent', groups: [], labels: {} },
      onBehalfOf: null,
      params,
      reason,
      context: {},
      now: new Date(0),
    });
  };

  it.each([
    ['reason.matches("^([0-9]+\\\\.?)+$")', {}, `${'1'.repeat(MAX_REASON - 1)}!`, 'ALLOW'],
    ['reason.matches("^([0-9]+\\\\.?)+$")', {}, '1.2.3', 'BLOCK'],
    ['params.s.matches("^(a+)+$")', { s: `${'a'.repeat(MAX_PARAMS - 20)}!` }, '', 'ALLOW'],
    ['params.s.matches("(a|aa)+b")', { s: 'a'.repeat(MAX_PARAMS - 20) }, '', 'ALLOW'],
    ['params.s.matches("(x+x+)+y")', { s: 'x'.repeat(MAX_PARAMS - 20) }, '', 'ALLOW'],
    // RE2 semantics: a partial match, as CEL specifies.
    ['reason.matches("INC-[0-9]+")', {}, 'fixes INC-42 now', 'BLOCK'],
  ])('%s finishes on the largest input and decides right', (when, params, reason, effect) => {
    expect(decide(when, params, reason).effect).toBe(effect);
  });

  it('counts matches() on a value that is not a string as an error, which never allows', () => {
    const evaluation = decide('params.n.matches("1")', { n: 1 });
    expect(evaluation.effect).toBe('BLOCK');
    expect(evaluation.errors[0]?.message).toContain('matches() needs a string');
  });
});

describe('the audit subscription filter glob', () => {
  it('matches an action in linear time', () => {
    const event = { requestId: 'r', type: 'ACTION_REQUESTED', data: {}, actorId: null, createdAt: new Date() } as unknown as AuditEventRow;
    const matches = auditFilterMatcher({ action: '*a*a*a*a*a*ab' });
    expect(matches(event, { action: 'a'.repeat(MAX_ACTION), resource: 'r' })).toBe(false);
    expect(matches(event, { action: `${'a'.repeat(MAX_ACTION - 1)}b`, resource: 'r' })).toBe(true);
    expect(auditFilterMatcher({ action: 'deploy.?' })(event, { action: 'deploy.x', resource: 'r' })).toBe(true);
    expect(auditFilterMatcher({ action: 'deploy.?' })(event, { action: 'deployxx', resource: 'r' })).toBe(false);
  });
});

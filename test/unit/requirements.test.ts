/**
 * Unit tests of the pure requirement module (src/approvals/requirements.ts): escalation steps,
 * reviewer groups, and the quorum arithmetic — every requirement met with each person counted at
 * most once, a bipartite matching. The matching is checked against a brute-force maximum matching
 * on seeded random instances, and for independence of the approvals' order.
 */
import { describe, expect, it } from 'vitest';
import {
  currentGroups,
  initialRequirements,
  nextStepAfter,
  reachSteps,
  requiredApprovals,
  reviewerGroups,
  summarize,
  tallyQuorum,
  tallyReviews,
  type Approval,
  type QuorumTally,
} from '../../src/approvals/requirements.js';
import type { RequestRequirement, ReviewRow } from '../../src/db/schema.js';
import type { EscalationStep } from '../../src/policy/index.js';
import { prng, type Random } from '../support/prng.js';

const SEED = 20_250_117;
const RANDOM_CASES = 400;
const PERMUTATIONS_PER_CASE = 5;

function req(
  groups: string[],
  approvals: number,
  options: { ruleId?: string | null; escalation?: EscalationStep[]; reached?: number } = {},
): RequestRequirement {
  return {
    ruleId: options.ruleId === undefined ? 'rule' : options.ruleId,
    groups,
    approvals,
    escalation: options.escalation ?? [],
    reached: options.reached ?? 0,
  };
}

const approval = (reviewerId: string, ...groups: string[]): Approval => ({ reviewerId, groups });

/** Per requirement, the approvers its slots hold, sorted (the order inside one requirement is not part of the contract). */
const holders = (tally: QuorumTally) => tally.requirements.map((r) => [...r.approverIds].sort());

describe('tallyQuorum: 2 from sre + 1 from security', () => {
  const requirements = [req(['sre'], 2, { ruleId: 'deploy' }), req(['security'], 1, { ruleId: 'secrets' })];

  it('is met by two sre people and one security person', () => {
    const tally = tallyQuorum(requirements, [approval('sre-1', 'sre'), approval('sre-2', 'sre'), approval('sec-1', 'security')]);
    expect(tally.met).toBe(true);
    expect(tally.received).toBe(3);
    expect(tally.required).toBe(3);
    expect(tally.requirements).toEqual([
      { ruleId: 'deploy', groups: ['sre'], approvals: 2, approverIds: expect.any(Array), met: true },
      { ruleId: 'secrets', groups: ['security'], approvals: 1, approverIds: ['sec-1'], met: true },
    ]);
    expect(holders(tally)).toEqual([['sre-1', 'sre-2'], ['sec-1']]);
  });

  it('counts a person in both groups once: with one more sre person it is not met', () => {
    const tally = tallyQuorum(requirements, [approval('both', 'security', 'sre'), approval('sre-1', 'sre')]);
    expect(tally.met).toBe(false);
    expect(tally.received).toBe(2);
    expect(tally.required).toBe(3);
    expect(tally.requirements.map((r) => r.met)).toEqual([true, false]);
    expect(holders(tally)).toEqual([['both', 'sre-1'], []]);
  });

  it('moves the dual-group person to security when a second sre person arrives (augmenting path)', () => {
    const tally = tallyQuorum(requirements, [approval('both', 'security', 'sre'), approval('sre-1', 'sre'), approval('sre-2', 'sre')]);
    expect(tally.met).toBe(true);
    expect(tally.received).toBe(3);
    expect(tally.requirements.map((r) => r.met)).toEqual([true, true]);
    expect(holders(tally)).toEqual([['sre-1', 'sre-2'], ['both']]);
  });

  it('leaves a surplus approver unplaced: received never exceeds required', () => {
    const tally = tallyQuorum(requirements, [
      approval('sre-1', 'sre'),
      approval('sre-2', 'sre'),
      approval('sre-3', 'sre'),
      approval('sec-1', 'security'),
    ]);
    expect(tally.met).toBe(true);
    expect(tally.received).toBe(3);
    expect(holders(tally)).toEqual([['sre-1', 'sre-2'], ['sec-1']]);
  });
});

describe('tallyQuorum: edge cases', () => {
  it('counts duplicate approvals by the same reviewer once', () => {
    const tally = tallyQuorum([req(['sre'], 2)], [approval('alice', 'sre'), approval('alice', 'sre'), approval('alice', 'sre')]);
    expect(tally.met).toBe(false);
    expect(tally.received).toBe(1);
    expect(tally.requirements[0]!.approverIds).toEqual(['alice']);
  });

  it('does not let a duplicated person fill two requirements', () => {
    const tally = tallyQuorum(
      [req(['sre'], 1), req(['security'], 1)],
      [approval('alice', 'sre', 'security'), approval('alice', 'sre', 'security')],
    );
    expect(tally.met).toBe(false);
    expect(tally.received).toBe(1);
    expect(holders(tally).flat()).toEqual(['alice']);
  });

  it('lets a requirement with groups [] accept anyone, even a reviewer in no group', () => {
    const tally = tallyQuorum([req([], 2, { ruleId: null })], [approval('nobody'), approval('carol', 'finance')]);
    expect(tally.met).toBe(true);
    expect(tally.received).toBe(2);
    expect(tally.requirements).toEqual([{ ruleId: null, groups: [], approvals: 2, approverIds: expect.any(Array), met: true }]);
    expect(holders(tally)).toEqual([['carol', 'nobody']]);
  });

  it('routes people around an any-reviewer requirement to fill the group one', () => {
    // sre-1 arrives first and takes the open slot; 'anyone' qualifies only there, so sre-1 must move to sre.
    const tally = tallyQuorum([req([], 1), req(['sre'], 1)], [approval('sre-1', 'sre'), approval('anyone')]);
    expect(tally.met).toBe(true);
    expect(tally.received).toBe(2);
    expect(holders(tally)).toEqual([['anyone'], ['sre-1']]);
  });

  it('is met with received 0 when there are no requirements', () => {
    expect(tallyQuorum([], [])).toEqual({ met: true, received: 0, required: 0, requirements: [] });
    expect(tallyQuorum([], [approval('alice', 'sre')])).toEqual({ met: true, received: 0, required: 0, requirements: [] });
  });

  it('is not met with no approvals', () => {
    const tally = tallyQuorum([req(['sre'], 1)], []);
    expect(tally).toEqual({
      met: false,
      received: 0,
      required: 1,
      requirements: [{ ruleId: 'rule', groups: ['sre'], approvals: 1, approverIds: [], met: false }],
    });
  });

  it('ignores approvers outside every group', () => {
    const tally = tallyQuorum([req(['sre'], 1)], [approval('dev', 'dev'), approval('none')]);
    expect(tally.met).toBe(false);
    expect(tally.received).toBe(0);
  });

  it('uses the groups of reached escalation steps', () => {
    const requirement = req(['sre'], 1, { escalation: [{ afterSeconds: 60, groups: ['oncall'] }] });
    expect(tallyQuorum([requirement], [approval('pager', 'oncall')]).met).toBe(false);
    const reached = tallyQuorum([{ ...requirement, reached: 1 }], [approval('pager', 'oncall')]);
    expect(reached.met).toBe(true);
    expect(reached.requirements[0]!.groups).toEqual(['oncall', 'sre']);
  });
});

// --- Differential: the matching against a brute-force maximum matching -------------------------

/** The maximum number of people that can be placed, each in one slot of a requirement they qualify for: every assignment enumerated. */
function bruteForceMaximum(requirements: readonly RequestRequirement[], approvals: readonly Approval[]): number {
  const groupsOf = requirements.map((r) =>
    r.groups.length === 0 ? null : new Set([...r.groups, ...r.escalation.slice(0, r.reached).flatMap((step) => step.groups)]),
  );
  const people = new Map<string, Set<string>>();
  for (const a of approvals) people.set(a.reviewerId, new Set(a.groups)); // one person, whichever approval
  const persons = [...people.values()];
  const qualifies = (person: Set<string>, index: number) => {
    const groups = groupsOf[index]!;
    return groups === null || [...groups].some((group) => person.has(group));
  };
  const room = requirements.map((r) => r.approvals);
  let best = 0;
  const go = (i: number, placed: number) => {
    if (i === persons.length) {
      best = Math.max(best, placed);
      return;
    }
    go(i + 1, placed); // this person unplaced
    for (let index = 0; index < requirements.length; index++) {
      if (room[index]! > 0 && qualifies(persons[i]!, index)) {
        room[index]!--;
        go(i + 1, placed + 1);
        room[index]!++;
      }
    }
  };
  go(0, 0);
  return best;
}

const GROUPS = ['a', 'b', 'c', 'd'];

function randomRequirement(random: Random): RequestRequirement {
  const groups = random.chance(0.15) ? [] : [...new Set(random.some(GROUPS, 2))];
  const escalation = random.chance(0.3) ? [{ afterSeconds: 60, groups: [random.pick(GROUPS)] }] : [];
  return req(groups, 1 + random.int(3), {
    ruleId: `r${random.int(100)}`,
    escalation,
    reached: escalation.length > 0 && random.chance(0.5) ? 1 : 0,
  });
}

function randomApprovals(random: Random): Approval[] {
  const count = random.int(7); // 0..6 approvals
  // Ids from a small pool, so a person sometimes approves twice; a person keeps one set of groups.
  const groupsOf = new Map<string, string[]>();
  return Array.from({ length: count }, () => {
    const reviewerId = `p${random.int(6)}`;
    if (!groupsOf.has(reviewerId)) groupsOf.set(reviewerId, random.chance(0.1) ? [] : [...new Set(random.some(GROUPS, 3))]);
    return { reviewerId, groups: groupsOf.get(reviewerId)! };
  });
}

function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** The tally is a valid matching: each holder qualifies, nobody holds two slots, no requirement overfilled, sums agree. */
function expectValidMatching(
  requirements: readonly RequestRequirement[],
  approvals: readonly Approval[],
  tally: QuorumTally,
  label: string,
) {
  const groupsByPerson = new Map(approvals.map((a) => [a.reviewerId, a.groups]));
  const all = tally.requirements.flatMap((r) => r.approverIds);
  expect(new Set(all).size, `${label}: someone holds two slots`).toBe(all.length);
  expect(all.length, `${label}: received vs slots held`).toBe(tally.received);
  expect(tally.required, label).toBe(requiredApprovals(requirements));
  expect(tally.met, `${label}: met iff every slot filled`).toBe(tally.received === tally.required);
  tally.requirements.forEach((progress, index) => {
    const groups = currentGroups(requirements[index]!);
    expect(progress.approverIds.length, label).toBeLessThanOrEqual(progress.approvals);
    expect(progress.met, label).toBe(progress.approverIds.length === progress.approvals);
    for (const id of progress.approverIds) {
      const qualifies = groups.length === 0 || groups.some((group) => groupsByPerson.get(id)!.includes(group));
      expect(qualifies, `${label}: ${id} does not qualify for requirement ${index}`).toBe(true);
    }
  });
}

describe('tallyQuorum: differential against brute force, order independence', () => {
  const random = prng(SEED);
  const cases = Array.from({ length: RANDOM_CASES }, (_, n) => {
    const requirements = Array.from({ length: random.int(4) }, () => randomRequirement(random)); // 0..3 requirements
    return { n, requirements, approvals: randomApprovals(random) };
  });

  it(`finds a maximum matching on ${RANDOM_CASES} seeded random instances (seed ${SEED})`, () => {
    let metCount = 0;
    for (const { n, requirements, approvals } of cases) {
      const label = `case ${n}: ${JSON.stringify({ requirements, approvals })}`;
      const tally = tallyQuorum(requirements, approvals);
      expect(tally.received, label).toBe(bruteForceMaximum(requirements, approvals));
      expectValidMatching(requirements, approvals, tally, label);
      if (tally.met) metCount++;
    }
    // The generator must exercise both outcomes, or the comparison proves little.
    expect(metCount).toBeGreaterThan(RANDOM_CASES / 10);
    expect(metCount).toBeLessThan(RANDOM_CASES * 0.9);
  });

  it('gives the same met/received whatever the order of the approvals', () => {
    const shuffle = prng(SEED + 1);
    for (const { n, requirements, approvals } of cases) {
      const expected = tallyQuorum(requirements, approvals);
      for (let k = 0; k < PERMUTATIONS_PER_CASE; k++) {
        const permuted = shuffled(shuffle, approvals);
        const tally = tallyQuorum(requirements, permuted);
        const label = `case ${n} permutation ${k}: ${JSON.stringify({ requirements, permuted })}`;
        expect({ met: tally.met, received: tally.received }, label).toEqual({ met: expected.met, received: expected.received });
        expectValidMatching(requirements, permuted, tally, label);
      }
    }
  });
});

// --- Groups, escalation steps, sums -------------------------------------------------------------

describe('currentGroups', () => {
  const escalation = [
    { afterSeconds: 60, groups: ['oncall'] },
    { afterSeconds: 300, groups: ['leads', 'sre'] },
    { afterSeconds: 900, groups: ['cto'] },
  ];
  it.each([
    { name: 'no step reached', requirement: req(['sre'], 1, { escalation }), expected: ['sre'] },
    { name: 'one step reached', requirement: req(['sre'], 1, { escalation, reached: 1 }), expected: ['oncall', 'sre'] },
    {
      name: 'two steps, deduplicated and sorted',
      requirement: req(['sre'], 1, { escalation, reached: 2 }),
      expected: ['leads', 'oncall', 'sre'],
    },
    { name: 'all steps', requirement: req(['sre'], 1, { escalation, reached: 3 }), expected: ['cto', 'leads', 'oncall', 'sre'] },
    { name: 'base groups sorted and deduplicated', requirement: req(['z', 'a', 'z'], 1), expected: ['a', 'z'] },
    { name: 'groups [] stays [] with steps reached', requirement: req([], 1, { escalation, reached: 3 }), expected: [] },
  ])('$name', ({ requirement, expected }) => {
    expect(currentGroups(requirement)).toEqual(expected);
  });

  it('does not mutate the requirement', () => {
    const requirement = req(['sre'], 1, { escalation, reached: 2 });
    const before = structuredClone(requirement);
    currentGroups(requirement);
    expect(requirement).toEqual(before);
  });
});

describe('reviewerGroups', () => {
  it.each([
    { name: 'no requirements', requirements: [], expected: [] },
    { name: 'one requirement', requirements: [req(['sre'], 1)], expected: ['sre'] },
    { name: 'sorted union', requirements: [req(['sre', 'dba'], 2), req(['security', 'dba'], 1)], expected: ['dba', 'security', 'sre'] },
    {
      name: 'with reached steps',
      requirements: [req(['sre'], 1, { escalation: [{ afterSeconds: 60, groups: ['oncall'] }], reached: 1 }), req(['security'], 1)],
      expected: ['oncall', 'security', 'sre'],
    },
    { name: 'any requirement open → []', requirements: [req(['sre'], 2), req([], 1)], expected: [] },
    { name: 'open requirement first → []', requirements: [req([], 1), req(['security'], 1)], expected: [] },
  ])('$name', ({ requirements, expected }) => {
    expect(reviewerGroups(requirements)).toEqual(expected);
  });
});

describe('requiredApprovals', () => {
  it.each([
    { requirements: [], expected: 0 },
    { requirements: [req(['sre'], 2)], expected: 2 },
    { requirements: [req(['sre'], 2), req(['security'], 1), req([], 3)], expected: 6 },
  ])('sums to $expected', ({ requirements, expected }) => {
    expect(requiredApprovals(requirements)).toBe(expected);
  });
});

describe('initialRequirements and summarize', () => {
  it('starts every requirement with no step reached, copying the groups', () => {
    const groups = ['sre'];
    const escalation = [{ afterSeconds: 60, groups: ['oncall'] }];
    const result = initialRequirements([
      { ruleId: 'deploy', groups, approvals: 2, escalation },
      { ruleId: null, groups: [], approvals: 1, escalation: [] },
    ]);
    expect(result).toEqual([
      { ruleId: 'deploy', groups: ['sre'], approvals: 2, escalation: [{ afterSeconds: 60, groups: ['oncall'] }], reached: 0 },
      { ruleId: null, groups: [], approvals: 1, escalation: [], reached: 0 },
    ]);
    expect(result[0]!.groups).not.toBe(groups);
  });

  it('summarizes each requirement with its current groups', () => {
    expect(
      summarize([
        req(['sre'], 2, { ruleId: 'deploy', escalation: [{ afterSeconds: 60, groups: ['oncall'] }], reached: 1 }),
        req([], 1, { ruleId: null, escalation: [{ afterSeconds: 60, groups: ['oncall'] }], reached: 1 }),
      ]),
    ).toEqual([
      { ruleId: 'deploy', groups: ['oncall', 'sre'], approvals: 2 },
      { ruleId: null, groups: [], approvals: 1 },
    ]);
  });
});

describe('nextStepAfter', () => {
  const steps = [
    { afterSeconds: 60, groups: ['oncall'] },
    { afterSeconds: 300, groups: ['leads'] },
  ];
  it.each([
    { name: 'no requirements', requirements: [], expected: null },
    { name: 'no escalation', requirements: [req(['sre'], 1)], expected: null },
    { name: 'first step', requirements: [req(['sre'], 1, { escalation: steps })], expected: 60 },
    { name: 'after one step reached', requirements: [req(['sre'], 1, { escalation: steps, reached: 1 })], expected: 300 },
    { name: 'all steps reached', requirements: [req(['sre'], 1, { escalation: steps, reached: 2 })], expected: null },
    {
      name: 'earliest over requirements',
      requirements: [
        req(['sre'], 1, { escalation: steps, reached: 1 }),
        req(['security'], 1, { escalation: [{ afterSeconds: 120, groups: ['ciso'] }] }),
      ],
      expected: 120,
    },
    {
      name: 'skips a requirement with groups []',
      requirements: [req([], 1, { escalation: steps }), req(['sre'], 1, { escalation: [{ afterSeconds: 900, groups: ['x'] }] })],
      expected: 900,
    },
    { name: 'only groups [] requirements → null', requirements: [req([], 1, { escalation: steps })], expected: null },
  ])('$name', ({ requirements, expected }) => {
    expect(nextStepAfter(requirements)).toBe(expected);
  });
});

describe('reachSteps', () => {
  const steps = [
    { afterSeconds: 60, groups: ['oncall'] },
    { afterSeconds: 300, groups: ['leads'] },
    { afterSeconds: 900, groups: ['cto'] },
  ];
  it.each([
    { elapsed: 0, reached: 0 },
    { elapsed: 59, reached: 0 },
    { elapsed: 60, reached: 1 }, // afterSeconds == elapsed: reached
    { elapsed: 299, reached: 1 },
    { elapsed: 300, reached: 2 },
    { elapsed: 900, reached: 3 }, // several steps at once
    { elapsed: 10_000, reached: 3 },
  ])('after $elapsed s, $reached step(s) reached', ({ elapsed, reached }) => {
    expect(reachSteps([req(['sre'], 1, { escalation: steps })], elapsed).map((r) => r.reached)).toEqual([reached]);
  });

  it('reaches several steps at once, per requirement, without going back', () => {
    const requirements = [
      req(['sre'], 1, { escalation: steps }),
      req(['security'], 1, { escalation: [{ afterSeconds: 30, groups: ['ciso'] }] }),
      req(['dba'], 1, { escalation: steps, reached: 2 }),
      req(['ops'], 1),
    ];
    const result = reachSteps(requirements, 300);
    expect(result.map((r) => r.reached)).toEqual([2, 1, 2, 0]);
    expect(result.map(currentGroups)).toEqual([['leads', 'oncall', 'sre'], ['ciso', 'security'], ['dba', 'leads', 'oncall'], ['ops']]);
    expect(nextStepAfter(result)).toBe(900);
    expect(reachSteps(result, 900).map((r) => r.reached)).toEqual([3, 1, 3, 0]);
    expect(nextStepAfter(reachSteps(result, 900))).toBeNull();
  });

  it('returns new requirements and leaves the input untouched', () => {
    const requirements = [req(['sre'], 1, { escalation: steps })];
    const before = structuredClone(requirements);
    const result = reachSteps(requirements, 1_000);
    expect(requirements).toEqual(before);
    expect(result[0]).not.toBe(requirements[0]);
    expect(result[0]).toEqual({ ...before[0], reached: 3 });
  });

  it('makes nextStepAfter move past every reached step', () => {
    // Reaching steps at exactly the time nextStepAfter names always makes progress.
    let requirements = [
      req(['sre'], 1, { escalation: steps }),
      req(['security'], 1, { escalation: [{ afterSeconds: 300, groups: ['ciso'] }] }),
    ];
    const seen: number[] = [];
    for (let due = nextStepAfter(requirements); due !== null; due = nextStepAfter(requirements)) {
      if (seen.length >= 10) throw new Error(`no progress: steps due at ${seen.join(', ')}`); // bounded, so a regression fails instead of hanging
      seen.push(due);
      requirements = reachSteps(requirements, due);
    }
    expect(seen).toEqual([60, 300, 900]);
    expect(requirements.map((r) => r.reached)).toEqual([3, 1]);
  });
});

describe('tallyReviews', () => {
  const review = (reviewerId: string, verdict: 'APPROVE' | 'REJECT', revision: number, reviewerGroups: string[]): ReviewRow =>
    ({ reviewerId, verdict, revision, reviewerGroups }) as Partial<ReviewRow> as ReviewRow;

  it('counts only APPROVE reviews of the current revision', () => {
    const request = { reviewRequirements: [req(['sre'], 2, { ruleId: 'deploy' })], revision: 1 };
    const tally = tallyReviews(request, [
      review('old', 'APPROVE', 0, ['sre']), // an earlier revision: does not count
      review('rejecter', 'REJECT', 1, ['sre']), // a rejection: does not count
      review('alice', 'APPROVE', 1, ['sre']),
      review('future', 'APPROVE', 2, ['sre']), // not the current revision either
    ]);
    expect(tally).toEqual({
      met: false,
      received: 1,
      required: 2,
      requirements: [{ ruleId: 'deploy', groups: ['sre'], approvals: 2, approverIds: ['alice'], met: false }],
    });
  });

  it('is met by enough approvals of the current revision, judged on the groups recorded with the review', () => {
    const request = { reviewRequirements: [req(['sre'], 1), req(['security'], 1)], revision: 0 };
    const tally = tallyReviews(request, [
      review('both', 'APPROVE', 0, ['security', 'sre']),
      review('bob', 'APPROVE', 0, ['sre']),
      review('eve', 'APPROVE', 0, ['dev']),
    ]);
    expect(tally.met).toBe(true);
    expect(tally.received).toBe(2);
    expect(holders(tally)).toEqual([['bob'], ['both']]);
  });

  it('is not met with no reviews', () => {
    const tally = tallyReviews({ reviewRequirements: [req([], 1)], revision: 0 }, []);
    expect(tally.met).toBe(false);
    expect(tally.received).toBe(0);
  });
});

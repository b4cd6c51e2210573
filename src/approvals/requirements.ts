import type { RuleReviewRequirement } from '../policy/index.js';
import type { ActionRequestRow, RequestRequirement, ReviewRow } from '../db/schema.js';

/**
 * A pending request's review requirements and the quorum arithmetic over them, pure. A pending request carries one requirement per deciding ESCALATE rule
 * ("2 approvals from sre", "1 from security"). Every requirement must be met, and a person counts
 * once: an approval fills at most one slot of one requirement. Whether the approvals can fill
 * every slot is a bipartite matching (people ↔ slots), solved with augmenting paths: an approver
 * already placed may move to another requirement of theirs to make room for a newcomer. Sizes are
 * tiny (a few requirements, a few dozen approvers), so the simple algorithm is the right one.
 */

/** An approval as quorum sees it: who, and the groups they were in when they approved. */
export interface Approval {
  reviewerId: string;
  groups: readonly string[];
}

export interface RequirementProgress {
  ruleId: string | null;
  /** The groups whose reviewers count now (base groups plus reached escalation steps). */
  groups: string[];
  approvals: number;
  /** The approvers this requirement's slots hold in the matching. */
  approverIds: string[];
  met: boolean;
}

export interface QuorumTally {
  /** True when every requirement is met. */
  met: boolean;
  /** Approvals that count (each person at most once). */
  received: number;
  /** The sum of the requirements' approvals. */
  required: number;
  requirements: RequirementProgress[];
}

/** A requirement as created for a new request: no escalation step reached yet. */
export function initialRequirements(requirements: readonly RuleReviewRequirement[]): RequestRequirement[] {
  return requirements.map((r) => ({
    ruleId: r.ruleId,
    groups: [...r.groups],
    approvals: r.approvals,
    escalation: r.escalation,
    reached: 0,
  }));
}

/** A requirement's current groups: its own and those of the escalation steps reached. */
export function currentGroups(requirement: RequestRequirement): string[] {
  if (requirement.groups.length === 0) return [];
  const steps = requirement.escalation.slice(0, requirement.reached).flatMap((step) => step.groups);
  return [...new Set([...requirement.groups, ...steps])].sort();
}

/** Each requirement as it stands, for the audit log: rule, current groups, approvals. */
export function summarize(requirements: readonly RequestRequirement[]): { ruleId: string | null; groups: string[]; approvals: number }[] {
  return requirements.map((r) => ({ ruleId: r.ruleId, groups: currentGroups(r), approvals: r.approvals }));
}

/**
 * The groups that may review the request at all: every requirement's current groups united, or
 * empty (anyone with the REVIEWER role) when some requirement accepts any reviewer.
 */
export function reviewerGroups(requirements: readonly RequestRequirement[]): string[] {
  const all = requirements.map(currentGroups);
  if (all.some((groups) => groups.length === 0)) return [];
  return [...new Set(all.flat())].sort();
}

/**
 * Seconds after the request's creation when the next escalation step of any requirement is due;
 * null when none is left. Steps of a requirement that accepts any reviewer add nobody: skipped.
 */
export function nextStepAfter(requirements: readonly RequestRequirement[]): number | null {
  const due = requirements
    .filter((r) => r.groups.length > 0 && r.reached < r.escalation.length)
    .map((r) => r.escalation[r.reached]!.afterSeconds);
  return due.length > 0 ? Math.min(...due) : null;
}

/** The requirements with every step due by `elapsedSeconds` reached. */
export function reachSteps(requirements: readonly RequestRequirement[], elapsedSeconds: number): RequestRequirement[] {
  return requirements.map((r) => {
    let reached = r.reached;
    while (reached < r.escalation.length && r.escalation[reached]!.afterSeconds <= elapsedSeconds) reached++;
    return { ...r, reached };
  });
}

/** The least number of distinct people the request needs. */
export function requiredApprovals(requirements: readonly RequestRequirement[]): number {
  return requirements.reduce((sum, r) => sum + r.approvals, 0);
}

function counts(groups: readonly string[], approval: Approval): boolean {
  return groups.length === 0 || groups.some((group) => approval.groups.includes(group));
}

/** Matches approvals (in the order given) to requirement slots, each person at most once. */
export function tallyQuorum(requirements: readonly RequestRequirement[], approvals: readonly Approval[]): QuorumTally {
  const groups = requirements.map(currentGroups);
  const slots = requirements.flatMap((r, index) => Array.from({ length: r.approvals }, () => index));
  const holder: (number | null)[] = slots.map(() => null); // slot → approval index
  const people = [...new Map(approvals.map((a) => [a.reviewerId, a])).values()];

  const place = (person: number, visited: Set<number>): boolean => {
    for (let slot = 0; slot < slots.length; slot++) {
      if (visited.has(slot) || !counts(groups[slots[slot]!]!, people[person]!)) continue;
      visited.add(slot);
      const current = holder[slot]!;
      if (current === null || place(current, visited)) {
        holder[slot] = person;
        return true;
      }
    }
    return false;
  };
  let received = 0;
  people.forEach((_, person) => {
    if (place(person, new Set())) received++;
  });

  const progress = requirements.map((r, index): RequirementProgress => {
    const approverIds = slots.flatMap((owner, slot) =>
      owner === index && holder[slot] !== null ? [people[holder[slot]!]!.reviewerId] : [],
    );
    return { ruleId: r.ruleId, groups: groups[index]!, approvals: r.approvals, approverIds, met: approverIds.length >= r.approvals };
  });
  return { met: progress.every((p) => p.met), received, required: slots.length, requirements: progress };
}

/** The tally of a request from its reviews: approvals of its current revision, in the order given. */
export function tallyReviews(
  request: Pick<ActionRequestRow, 'reviewRequirements' | 'revision'>,
  reviews: readonly ReviewRow[],
): QuorumTally {
  const approvals = reviews
    .filter((review) => review.verdict === 'APPROVE' && review.revision === request.revision)
    .map((review) => ({ reviewerId: review.reviewerId, groups: review.reviewerGroups }));
  return tallyQuorum(request.reviewRequirements, approvals);
}

import type { PolicyDocument, PolicyRule } from '../src/policy/index.js';

// The requestAction workload both benchmarks run: even i -> the ALLOW rule, odd i -> ESCALATE.

/** A workload rule: its review (ESCALATE) spelled out in full. */
interface WorkloadRule extends PolicyRule {
  review?: { groups: string[]; approvals: number; timeoutSeconds: number };
}
const ALLOW_RULE: WorkloadRule = {
  id: 'allow-reads',
  effect: 'ALLOW',
  actions: ['read.*'],
  resources: ['prod/**'],
  reason: 'reads are safe',
};
const ESCALATE_RULE: WorkloadRule = {
  id: 'escalate-deploys',
  effect: 'ESCALATE',
  actions: ['deploy.*'],
  resources: ['prod/**'],
  review: { groups: ['sre'], approvals: 1, timeoutSeconds: 3_600 },
};

export const POLICY: PolicyDocument = { defaultEffect: 'BLOCK', rules: [ALLOW_RULE, ESCALATE_RULE] };
export const inputFor = (i: number) =>
  i % 2 === 0
    ? { action: 'read.config', resource: 'prod/payments-api/config', params: { key: 'timeout', n: i }, reason: 'benchmark' }
    : { action: 'deploy.update', resource: 'prod/payments-api', params: { image: 'payments:1.2.3', n: i }, reason: 'benchmark' };
export const MUTATION = `mutation($input: RequestActionInput!) {
  requestAction(input: $input) { request { id status decisionReason expiresAt } errors { __typename message } }
}`;

/** The two paths of the workload (bench/write.ts measures each on its own) and what each ends in. */
export type WorkloadPath = 'ALLOW' | 'ESCALATE';
export const WORKLOAD: Record<WorkloadPath, { rule: WorkloadRule; status: 'APPROVED' | 'PENDING' }> = {
  ALLOW: { rule: ALLOW_RULE, status: 'APPROVED' },
  ESCALATE: { rule: ESCALATE_RULE, status: 'PENDING' },
};
/** The i-th request of one path. */
export const inputForPath = (path: WorkloadPath, i: number) => inputFor(path === 'ALLOW' ? 2 * i : 2 * i + 1);

/**
 * POLICY grown to `total` rules: `total - 2` rules that never match the workload (each its own
 * action glob, `other<i>.*`, effects in turn), then the workload's ALLOW and ESCALATE rules last.
 */
export function policyWithRules(total: number): PolicyDocument {
  const effects = ['ALLOW', 'ESCALATE', 'BLOCK'] as const;
  const others: PolicyRule[] = Array.from({ length: total - 2 }, (_, i) => ({
    id: `other-${i}`,
    effect: effects[i % 3]!,
    actions: [`other${i}.*`],
    resources: ['prod/**'],
    ...(i % 3 === 1 ? { review: { groups: ['sre'], approvals: 1, timeoutSeconds: 3_600 } } : {}),
  }));
  return { defaultEffect: 'BLOCK', rules: [...others, ALLOW_RULE, ESCALATE_RULE] };
}

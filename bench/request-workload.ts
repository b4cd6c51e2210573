import type { PolicyDocument } from '../src/policy/index.js';

// The requestAction workload both benchmarks run: even i -> the ALLOW rule, odd i -> ESCALATE.

export const POLICY: PolicyDocument = {
  defaultEffect: 'BLOCK',
  rules: [
    { id: 'allow-reads', effect: 'ALLOW', actions: ['read.*'], resources: ['prod/**'], reason: 'reads are safe' },
    {
      id: 'escalate-deploys',
      effect: 'ESCALATE',
      actions: ['deploy.*'],
      resources: ['prod/**'],
      review: { groups: ['sre'], approvals: 1, timeoutSeconds: 3_600 },
    },
  ],
};
export const inputFor = (i: number) =>
  i % 2 === 0
    ? { action: 'read.config', resource: 'prod/payments-api/config', params: { key: 'timeout', n: i }, reason: 'benchmark' }
    : { action: 'deploy.update', resource: 'prod/payments-api', params: { image: 'payments:1.2.3', n: i }, reason: 'benchmark' };
export const MUTATION = `mutation($input: RequestActionInput!) {
  requestAction(input: $input) { request { id status decisionReason expiresAt } errors { __typename message } }
}`;

import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Deps } from '../../src/deps.js';
import { requestAction } from '../../src/approvals/request-action.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents } from '../../src/db/schema.js';
import { ConflictError, InvalidInputError, InvalidPolicyInputError, NotAllowedError, NotFoundError } from '../../src/errors.js';
import { activatePolicyVersion } from '../../src/policies/activate.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { replayPolicy } from '../../src/policies/replay.js';
import { simulateAction } from '../../src/policies/simulate.js';
import type { PolicyRule } from '../../src/policy/index.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let secondInstance: () => Promise<Deps>;
let admin: Principal;
let payments: Principal;
let search: Principal;

const ESCALATE_ALL: PolicyRule = { id: 'review-everything', effect: 'ESCALATE', actions: ['*'], resources: ['**'] };

async function publish(rules: PolicyRule[], extra: { expectedVersion?: number; message?: string } = {}) {
  return (await publishPolicy(app.deps, admin, { rules, defaultEffect: 'ESCALATE', ...extra })).policy;
}

async function rowCounts() {
  const [requests] = await app.deps.db.select({ n: count() }).from(actionRequests);
  const [events] = await app.deps.db.select({ n: count() }).from(auditEvents);
  return { requests: requests!.n, events: events!.n };
}

beforeAll(async () => {
  ({ app, stop, secondInstance } = await startTestApp());
  admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  payments = await insertPrincipalFor(app, {
    kind: 'AGENT',
    name: 'payments-bot',
    roles: ['AGENT'],
    groups: ['bots'],
    labels: { team: 'payments' },
  });
  search = await insertPrincipalFor(app, { kind: 'AGENT', name: 'search-bot', roles: ['AGENT'], labels: { team: 'search' } });
});

afterAll(async () => {
  await stop?.();
});

describe('versions', () => {
  it('refuses a publish based on a stale version, and keeps the message with the version', async () => {
    const first = await publish([ESCALATE_ALL], { expectedVersion: 0, message: 'start strict' });
    expect(first).toMatchObject({ version: 1, message: 'start strict', active: true });
    await expect(publish([ESCALATE_ALL], { expectedVersion: 0 })).rejects.toBeInstanceOf(ConflictError);
    const second = await publish([{ id: 'allow-staging', effect: 'ALLOW', actions: ['*'], resources: ['staging/**'] }], {
      expectedVersion: 1,
    });
    expect(second.version).toBe(2);
  });

  it('rolls back to an earlier version, audited, and decides with it at once', async () => {
    const before = (await requestAction(app.deps, payments, { action: 'deploy.update', resource: 'staging/api' })).request;
    expect(before.evaluation).toMatchObject({ effect: 'ALLOW', policyVersion: 2 });
    const rolledBack = await activatePolicyVersion(app.deps, admin, { version: 1, reason: 'too permissive', expectedVersion: 2 });
    expect(rolledBack.policy).toMatchObject({ version: 1, active: true });
    expect(rolledBack.events).toMatchObject([
      { type: 'POLICY_ACTIVATED', actorId: admin.id, data: { version: 1, previousVersion: 2, reason: 'too permissive' } },
    ]);
    const after = (await requestAction(app.deps, payments, { action: 'deploy.update', resource: 'staging/api' })).request;
    expect(after.evaluation).toMatchObject({ effect: 'ESCALATE', policyVersion: 1 });
    await expect(activatePolicyVersion(app.deps, admin, { version: 1 })).rejects.toBeInstanceOf(ConflictError);
    await expect(activatePolicyVersion(app.deps, admin, { version: 99 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('decides with a version another instance published, from the request after its commit', async () => {
    // A second instance: same database, its own policy snapshot. This one's snapshot is now stale.
    const other = await secondInstance();
    const published = (
      await publishPolicy(other, admin, {
        rules: [{ id: 'block-all', effect: 'BLOCK', actions: ['*'], resources: ['**'] }],
        defaultEffect: 'ESCALATE',
      })
    ).policy;
    expect(app.deps.policies.current().version).not.toBe(published.version);
    const { request } = await requestAction(app.deps, payments, { action: 'deploy.update', resource: 'staging/api' });
    expect(request).toMatchObject({ status: 'BLOCKED', evaluation: { policyVersion: published.version } });
  });

  it('refuses a null label value instead of dropping it (which would widen the rule)', async () => {
    const labels = { team: 'payments', env: null } as unknown as Record<string, string>;
    const error = await publish([{ id: 'prod-only', effect: 'ALLOW', actions: ['*'], resources: ['**'], agents: { labels } }]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidPolicyInputError);
    expect((error as InvalidPolicyInputError).issues).toMatchObject([{ ruleId: 'prod-only', field: 'agents.labels.env' }]);
  });

  it('stores nothing when a policy is invalid, naming the rule and field of each problem', async () => {
    const before = await rowCounts();
    const error = await publish([{ id: 'bad-cel', effect: 'BLOCK', actions: ['*'], resources: ['**'], when: 'params.replicas >' }]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidPolicyInputError);
    expect((error as InvalidPolicyInputError).issues).toMatchObject([{ ruleId: 'bad-cel', field: 'when' }]);
    expect(await rowCounts()).toEqual(before);
  });
});

describe('the rule language in the service', () => {
  it('auto-approves up to the limit, then escalates, counting only what the rule matched', async () => {
    await publish([
      {
        id: 'three-prod-deploys',
        effect: 'ALLOW',
        actions: ['deploy.*'],
        resources: ['prod/**'],
        limit: { count: 3, windowSeconds: 3_600, per: 'AGENT' },
      },
    ]);
    const statuses: string[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await requestAction(app.deps, search, { action: 'deploy.update', resource: `prod/svc-${i}` })).request.status);
    expect(statuses).toEqual(['APPROVED', 'APPROVED', 'APPROVED', 'PENDING', 'PENDING']);
  });

  it('lets no more than the limit through when requests race', async () => {
    await publish([
      {
        id: 'two-restarts',
        effect: 'ALLOW',
        actions: ['service.restart'],
        resources: ['**'],
        limit: { count: 2, windowSeconds: 3_600, per: 'AGENT_ACTION' },
      },
    ]);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => requestAction(app.deps, payments, { action: 'service.restart', resource: `prod/worker-${i}` })),
    );
    expect(results.filter((r) => r.request.status === 'APPROVED')).toHaveLength(2);
  });

  it('refuses a request without a reason where a rule requires one, writing nothing', async () => {
    await publish([{ id: 'db-changes', effect: 'ESCALATE', actions: ['db.*'], resources: ['**'], requireReason: true }]);
    const before = await rowCounts();
    const error = await requestAction(app.deps, payments, { action: 'db.migrate', resource: 'prod/ledger', reason: '  ' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).problems).toEqual([{ field: 'reason', message: expect.stringContaining('"db-changes"') }]);
    expect(await rowCounts()).toEqual(before);
    const { request } = await requestAction(app.deps, payments, {
      action: 'db.migrate',
      resource: 'prod/ledger',
      reason: 'add index for INC-7',
    });
    expect(request.status).toBe('PENDING');
  });

  it('applies when-conditions and agent selectors, and never allows on a CEL error', async () => {
    await publish([
      {
        id: 'big-scale-blocked',
        effect: 'BLOCK',
        actions: ['service.scale'],
        resources: ['**'],
        when: 'params.replicas > 10',
        reason: 'Too many replicas.',
      },
      { id: 'payments-scale', effect: 'ALLOW', actions: ['service.scale'], resources: ['**'], agents: { labels: { team: 'payments' } } },
    ]);
    const small = await requestAction(app.deps, payments, { action: 'service.scale', resource: 'prod/api', params: { replicas: 3 } });
    expect(small.request).toMatchObject({ status: 'APPROVED', matchedRules: ['payments-scale'] });
    const big = await requestAction(app.deps, payments, { action: 'service.scale', resource: 'prod/api', params: { replicas: 30 } });
    expect(big.request).toMatchObject({ status: 'BLOCKED', decisionReason: 'Too many replicas.' });
    const other = await requestAction(app.deps, search, { action: 'service.scale', resource: 'prod/api', params: { replicas: 3 } });
    expect(other.request.status).toBe('PENDING');

    // No `replicas` at all: the BLOCK rule's condition fails to evaluate, so it counts as matched.
    const missing = await requestAction(app.deps, payments, { action: 'service.scale', resource: 'prod/api', params: {} });
    expect(missing.request.status).toBe('BLOCKED');
    expect(missing.request.evaluation.errors).toEqual([{ ruleId: 'big-scale-blocked', message: expect.any(String) }]);
    const [decision] = await app.deps.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.requestId, missing.request.id))
      .orderBy(auditEvents.id)
      .offset(1);
    expect(decision!.data).toMatchObject({ errors: [{ ruleId: 'big-scale-blocked' }] });
  });
});

describe('simulation and replay', () => {
  it('simulates against the active policy or a draft, at a given time and as a given agent, writing nothing', async () => {
    const before = await rowCounts();
    const active = await simulateAction(app.deps, payments, { action: 'service.scale', resource: 'prod/api', params: { replicas: 30 } });
    expect(active).toMatchObject({ effect: 'BLOCK', matchedRules: ['big-scale-blocked', 'payments-scale'] });
    const draft = await simulateAction(app.deps, admin, {
      action: 'deploy.update',
      resource: 'prod/api',
      agentId: search.id,
      now: new Date('2026-11-28T12:00:00Z'), // a Saturday
      draft: {
        defaultEffect: 'ALLOW',
        rules: [
          { id: 'no-weekend-deploys', effect: 'BLOCK', actions: ['deploy.*'], resources: ['**'], when: 'now.getDayOfWeek("UTC") == 6' },
        ],
      },
    });
    expect(draft).toMatchObject({ effect: 'BLOCK', policyVersion: null, matchedRules: ['no-weekend-deploys'] });
    expect(await rowCounts()).toEqual(before);
    await expect(simulateAction(app.deps, payments, { action: 'a', resource: 'b', agentId: search.id })).rejects.toBeInstanceOf(
      NotAllowedError,
    );
    // A draft carries caller-written CEL: administrators only.
    await expect(
      simulateAction(app.deps, payments, { action: 'a', resource: 'b', draft: { defaultEffect: 'ALLOW', rules: [] } }),
    ).rejects.toBeInstanceOf(NotAllowedError);
  });

  it("replays rate limits by the draft's own matches, and counts requests a draft would refuse for want of a reason", async () => {
    const since = new Date();
    await publish([ESCALATE_ALL]);
    for (let i = 0; i < 4; i++)
      await requestAction(app.deps, payments, { action: 'job.run', resource: `batch/${i}`, reason: i === 0 ? 'nightly' : null });
    const replay = await replayPolicy(app.deps, admin, {
      since,
      defaultEffect: 'ESCALATE',
      rules: [
        {
          id: 'two-jobs',
          effect: 'ALLOW',
          actions: ['job.run'],
          resources: ['**'],
          limit: { count: 2, windowSeconds: 3_600, per: 'AGENT' },
        },
        { id: 'why', effect: 'ESCALATE', actions: ['job.*'], resources: ['nowhere/**'], requireReason: true },
        { id: 'why-batch', effect: 'BLOCK', actions: ['job.cancel'], resources: ['**'], requireReason: true },
      ],
    });
    expect(replay).toMatchObject({
      evaluated: 4,
      changed: 2,
      changes: [{ from: 'ESCALATE', to: 'ALLOW', count: 2 }],
      refusedForMissingReason: 0,
    });
    const strict = await replayPolicy(app.deps, admin, {
      since,
      defaultEffect: 'ESCALATE',
      rules: [{ id: 'say-why', effect: 'ESCALATE', actions: ['job.run'], resources: ['**'], requireReason: true }],
    });
    expect(strict).toMatchObject({ evaluated: 4, changed: 0, refusedForMissingReason: 3 });
  });

  it('replays a draft over recorded requests and counts the decisions that change', async () => {
    const since = new Date();
    await publish([ESCALATE_ALL]);
    for (let i = 0; i < 4; i++) await requestAction(app.deps, search, { action: 'deploy.update', resource: `staging/r${i}` });
    await requestAction(app.deps, search, { action: 'deploy.update', resource: 'prod/r' });
    const replay = await replayPolicy(app.deps, admin, {
      since,
      defaultEffect: 'ESCALATE',
      rules: [{ id: 'allow-staging', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'] }],
    });
    expect(replay).toMatchObject({ evaluated: 5, changed: 4, truncated: false, changes: [{ from: 'ESCALATE', to: 'ALLOW', count: 4 }] });
    expect(replay.escalationsBefore - replay.escalationsAfter).toBe(4);
    expect(replay.samples.map((s) => s.request.resource)).toEqual(['staging/r0', 'staging/r1', 'staging/r2', 'staging/r3']);
    const limited = await replayPolicy(app.deps, admin, { since, defaultEffect: 'ESCALATE', rules: [], limit: 2 });
    expect(limited).toMatchObject({ evaluated: 2, truncated: true, changed: 0 });
    const exact = await replayPolicy(app.deps, admin, { since, defaultEffect: 'ESCALATE', rules: [], limit: 5 });
    expect(exact).toMatchObject({ evaluated: 5, truncated: false });
    const oneShort = await replayPolicy(app.deps, admin, { since, defaultEffect: 'ESCALATE', rules: [], limit: 4 });
    expect(oneShort).toMatchObject({ evaluated: 4, truncated: true });
  });
});

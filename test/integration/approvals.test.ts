import { randomUUID } from 'node:crypto';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { requestAction } from '../../src/approvals/request-action.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents, policyVersions, reviews, type AuditEventRow } from '../../src/db/schema.js';
import { ConflictError, IdempotencyConflictError } from '../../src/errors.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { onPostgres } from '../support/database.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let admin: Principal;
let agent: Principal;
let reviewers: Principal[];

async function countEvents(requestId: string, type?: string) {
  const [row] = await app.deps.db
    .select({ n: count() })
    .from(auditEvents)
    .where(type ? sql`${auditEvents.requestId} = ${requestId} AND ${auditEvents.type} = ${type}` : eq(auditEvents.requestId, requestId));
  return row!.n;
}

beforeAll(async () => {
  ({ app, stop } = await startTestApp());
  admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  agent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  reviewers = [];
  for (let i = 0; i < 20; i++) {
    reviewers.push(await insertPrincipalFor(app, { kind: 'HUMAN', name: `reviewer-${i}`, roles: ['REVIEWER'], groups: ['sre'] }));
  }
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ESCALATE',
    rules: [
      { id: 'prod', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['prod/**'], review: { groups: ['sre'] } },
      { id: 'two-person', effect: 'ESCALATE', actions: ['db.migrate'], resources: ['**'], review: { groups: ['sre'], approvals: 2 } },
      { id: 'staging', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'] },
    ],
  });
});

afterAll(async () => {
  await stop?.();
});

describe('requestAction', () => {
  it('writes the request and its two audit events together, recording what was asked', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'staging/api', params: { v: '1.2' } });
    expect(request.status).toBe('APPROVED');
    const events = await app.deps.db.select().from(auditEvents).where(eq(auditEvents.requestId, request.id)).orderBy(auditEvents.id);
    expect(events.map((event) => event.type)).toEqual(['ACTION_REQUESTED', 'ACTION_APPROVED']);
    expect(events[0]!.data).toMatchObject({ agentId: agent.id, action: 'deploy.update', resource: 'staging/api', params: { v: '1.2' } });
    expect(events[1]!.data).toMatchObject({ status: 'APPROVED', decidedBy: 'POLICY', matchedRules: ['staging'] });
  });

  it('returns the request and events exactly as stored, the escalation carrying its deadline in database time', async () => {
    const heard: AuditEventRow[] = [];
    const stopListening = app.deps.hub.listen((event) => void heard.push(event));
    try {
      for (const input of [
        { action: 'deploy.update', resource: 'staging/web', params: { v: '2' }, idempotencyKey: `key-${randomUUID()}` },
        { action: 'deploy.update', resource: 'prod/web', reason: 'hotfix', context: { ticket: 'OPS-1' } },
      ]) {
        const { request } = await requestAction(app.deps, agent, input);
        const [stored] = await app.deps.db.select().from(actionRequests).where(eq(actionRequests.id, request.id));
        expect(request).toEqual(stored);
        const events = await app.deps.db.select().from(auditEvents).where(eq(auditEvents.requestId, request.id)).orderBy(auditEvents.id);
        await expect
          .poll(() => heard.filter((event) => event.requestId === request.id))
          .toEqual(events.map((e) => expect.objectContaining({ id: e.id, type: e.type, data: e.data, txId: e.txId })));
        if (request.status === 'PENDING') {
          expect(events[1]!.type).toBe('ACTION_ESCALATED');
          expect(events[1]!.data['expiresAt']).toBe(request.expiresAt!.toISOString());
          expect(request.remindAt!.getTime()).toBeLessThan(request.expiresAt!.getTime());
        } else {
          expect(request.validUntil!.getTime()).toBeGreaterThan(request.createdAt.getTime());
          expect(request.decidedAt).toEqual(request.createdAt);
        }
      }
    } finally {
      stopListening();
    }
  });

  it('writes nothing when the transaction fails half-way', async () => {
    // A principal that is not in the database makes the request insert violate its foreign key.
    const ghost: Principal = { ...agent, id: randomUUID() };
    const [before] = await app.deps.db.select({ n: count() }).from(auditEvents);
    await expect(requestAction(app.deps, ghost, { action: 'deploy.update', resource: 'staging/api' })).rejects.toThrow();
    const [after] = await app.deps.db.select({ n: count() }).from(auditEvents);
    expect(after!.n).toBe(before!.n);
    const rows = await app.deps.db.select().from(actionRequests).where(eq(actionRequests.agentId, ghost.id));
    expect(rows).toEqual([]);
  });

  it('tells subscribers only after the commit, so what they hear is already readable', async () => {
    const heard = new Map<string, AuditEventRow>();
    let waiting: { id: string; resolve: (event: AuditEventRow) => void } | null = null;
    const stopListening = app.deps.hub.listen((event) => {
      if (event.type !== 'ACTION_REQUESTED' || !event.requestId) return;
      heard.set(event.requestId, event);
      if (waiting?.id === event.requestId) waiting.resolve(event);
    });
    try {
      const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/api' });
      const event = heard.get(request.id) ?? (await new Promise<AuditEventRow>((resolve) => (waiting = { id: request.id, resolve })));
      const rows = await app.deps.db.select().from(actionRequests).where(eq(actionRequests.id, event.requestId!));
      expect(rows).toHaveLength(1);
    } finally {
      stopListening();
    }
  });

  it('returns one request for 100 concurrent calls with one idempotency key', async () => {
    const input = { action: 'deploy.update', resource: 'prod/search', params: { v: 7 }, idempotencyKey: `key-${randomUUID()}` };
    const results = await Promise.all(Array.from({ length: 100 }, () => requestAction(app.deps, agent, input)));
    const ids = new Set(results.map((result) => result.request.id));
    expect(ids.size).toBe(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    const [id] = [...ids];
    expect(await countEvents(id!)).toBe(2);
    await expect(requestAction(app.deps, agent, { ...input, params: { v: 8 } })).rejects.toBeInstanceOf(IdempotencyConflictError);
  });
});

describe('decideAction', () => {
  it('moves a request out of PENDING exactly once when 20 reviewers approve at the same moment', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/payments' });
    const outcomes = await Promise.allSettled(
      reviewers.map((reviewer) => decideAction(app.deps, reviewer, { requestId: request.id, verdict: 'APPROVE' })),
    );
    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(19);
    for (const outcome of rejected) expect(outcome.reason).toBeInstanceOf(ConflictError);
    expect(await countEvents(request.id, 'ACTION_APPROVED')).toBe(1);
    expect(await countEvents(request.id, 'REVIEW_SUBMITTED')).toBe(1);
    const [{ n }] = (await app.deps.db.select({ n: count() }).from(reviews).where(eq(reviews.requestId, request.id))) as [{ n: number }];
    expect(n).toBe(1);
  });

  it('counts distinct people towards a quorum of two', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'db.migrate', resource: 'prod/ledger' });
    expect(request.requiredApprovals).toBe(2);
    const first = await decideAction(app.deps, reviewers[0]!, { requestId: request.id, verdict: 'APPROVE' });
    expect(first.status).toBe('PENDING');
    await expect(decideAction(app.deps, reviewers[0]!, { requestId: request.id, verdict: 'APPROVE' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    const second = await decideAction(app.deps, reviewers[1]!, {
      requestId: request.id,
      verdict: 'APPROVE',
      comment: 'second pair of eyes',
    });
    expect(second).toMatchObject({ status: 'APPROVED', decidedBy: 'REVIEWER', deciderId: reviewers[1]!.id });
    expect(await countEvents(request.id, 'REVIEW_SUBMITTED')).toBe(2);
  });

  it('rejects on one rejection even when approvals are pending', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'db.migrate', resource: 'prod/orders' });
    await decideAction(app.deps, reviewers[2]!, { requestId: request.id, verdict: 'APPROVE' });
    const decided = await decideAction(app.deps, reviewers[3]!, { requestId: request.id, verdict: 'REJECT', comment: 'not now' });
    expect(decided).toMatchObject({ status: 'REJECTED', decisionReason: 'not now' });
  });

  it('refuses a request whose review deadline has passed, changing nothing', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/late' });
    await app.deps.db
      .update(actionRequests)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, request.id));
    await expect(decideAction(app.deps, reviewers[4]!, { requestId: request.id, verdict: 'APPROVE' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await countEvents(request.id, 'REVIEW_SUBMITTED')).toBe(0);
  });

  it('never lets an agent review, even one with REVIEWER-like groups, and records the attempt', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/self' });
    await expect(
      decideAction(app.deps, { ...agent, roles: ['AGENT', 'REVIEWER'] }, { requestId: request.id, verdict: 'APPROVE' }),
    ).rejects.toMatchObject({
      name: 'SeparationOfDutiesError',
      party: 'REQUESTING_AGENT',
    });
    expect(await countEvents(request.id, 'REVIEW_REFUSED')).toBe(1);
    expect(await countEvents(request.id, 'REVIEW_SUBMITTED')).toBe(0);
  });
});

describe('publishPolicy', () => {
  it('assigns distinct versions to concurrent publishes and keeps exactly one active', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        publishPolicy(app.deps, admin, {
          defaultEffect: 'ESCALATE',
          rules: [{ id: `r${i}`, effect: 'ALLOW', actions: ['noop'], resources: ['**'] }],
        }),
      ),
    );
    const versions = results.map((result) => result.policy.version).sort((a, b) => a - b);
    expect(new Set(versions).size).toBe(5);
    expect(versions.at(-1)! - versions[0]!).toBe(4);
    const active = await app.deps.db.select().from(policyVersions).where(eq(policyVersions.active, true));
    expect(active.map((row) => row.version)).toEqual([versions.at(-1)]);
    expect(app.deps.policies.current().version).toBe(versions.at(-1));
  });
});

it(`runs on ${onPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  expect(app.database.driver).toBe(onPostgres ? 'postgres' : 'pglite');
});

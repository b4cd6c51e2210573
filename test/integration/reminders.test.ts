import { and, count, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Deps } from '../../src/deps.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { extendActionRequest } from '../../src/approvals/extend-action.js';
import { remindDueRequests } from '../../src/approvals/remind.js';
import { requestAction } from '../../src/approvals/request-action.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents } from '../../src/db/schema.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { evaluatePolicy, compilePolicy, validatePolicy } from '../../src/policy/index.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let secondInstance: () => Promise<Deps>;
let agent: Principal;
let reviewer: Principal;

/** Seconds from a request's creation to its reminder, and to its deadline, as stored. */
async function schedule(id: string): Promise<{ remindAfter: number | null; expireAfter: number; remindedAt: Date | null }> {
  const [row] = await app.deps.db
    .select({
      remindAfter: sql<number | null>`extract(epoch from ${actionRequests.remindAt} - ${actionRequests.createdAt})::float8`,
      expireAfter: sql<number>`extract(epoch from ${actionRequests.expiresAt} - ${actionRequests.createdAt})::float8`,
      remindedAt: actionRequests.remindedAt,
    })
    .from(actionRequests)
    .where(eq(actionRequests.id, id));
  return row!;
}

/** Puts requests' reminders in the past, as the database sees time. */
async function makeDue(ids: string[]) {
  await app.deps.db
    .update(actionRequests)
    .set({ remindAt: sql`now() - interval '1 second'` })
    .where(inArray(actionRequests.id, ids));
}

async function reminders(ids: string[]): Promise<number> {
  const [row] = await app.deps.db
    .select({ n: count() })
    .from(auditEvents)
    .where(and(eq(auditEvents.type, 'ACTION_EXPIRING'), inArray(auditEvents.requestId, ids)));
  return row!.n;
}

const ask = async (action: string, resource: string) => (await requestAction(app.deps, agent, { action, resource })).request;

beforeAll(async () => {
  ({ app, stop, secondInstance } = await startTestApp());
  const admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  agent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'bot', roles: ['AGENT'] });
  reviewer = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ALLOW',
    rules: [
      { id: 'deploys', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['sre'], timeoutSeconds: 1_000 } },
      {
        id: 'early',
        effect: 'ESCALATE',
        actions: ['db.migrate'],
        resources: ['**'],
        review: { groups: ['sre'], timeoutSeconds: 600, remindAt: 0.25 },
      },
    ],
  });
});

afterAll(async () => {
  await stop?.();
});

describe('reminders (action.expiring)', () => {
  it("are due at the policy's share of the timeout: 0.8 by default, review.remindAt where a rule sets it", async () => {
    const plain = await schedule((await ask('deploy.update', 'prod/a')).id);
    expect(plain.remindAfter).toBeCloseTo(800, 3);
    expect(plain.expireAfter).toBeCloseTo(1_000, 3);
    const early = await schedule((await ask('db.migrate', 'prod/b')).id);
    expect(early.remindAfter).toBeCloseTo(150, 3);
    // Allowed requests are never pending: nothing to remind.
    expect((await schedule((await ask('read.logs', 'prod/c')).id)).remindAfter).toBeNull();
  });

  it('are sent exactly once per request when two instances sweep at the same time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await ask('deploy.update', `prod/r${i}`)).id);
    await makeDue(ids);
    const other = await secondInstance();
    const [a, b] = await Promise.all([remindDueRequests(app.deps, 5), remindDueRequests(other, 5)]);
    const [c, d] = await Promise.all([remindDueRequests(app.deps), remindDueRequests(other)]);
    expect([...a, ...b, ...c, ...d].map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(await reminders(ids)).toBe(12);
    // Sent: not sent again, even with the reminder time put back.
    await makeDue(ids);
    expect(await remindDueRequests(app.deps)).toEqual([]);
    expect(await reminders(ids)).toBe(12);
    const reminded = await schedule(ids[0]!);
    expect(reminded.remindedAt).toBeInstanceOf(Date);
    const [event] = await app.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.type, 'ACTION_EXPIRING'), eq(auditEvents.requestId, ids[0]!)));
    expect(event!.data).toMatchObject({ agentId: agent.id, secondsLeft: expect.any(Number) });
    expect(event!.data['secondsLeft']).toBeGreaterThan(0);
  });

  it('move with an extended deadline, and are not sent for decided or overdue requests', async () => {
    const extended = await ask('deploy.update', 'prod/extended');
    await extendActionRequest(app.deps, reviewer, { requestId: extended.id, bySeconds: 300 });
    const moved = await schedule(extended.id);
    expect(moved.remindAfter).toBeCloseTo(1_100, 3);
    expect(moved.expireAfter).toBeCloseTo(1_300, 3);

    const decided = await ask('deploy.update', 'prod/decided');
    await decideAction(app.deps, reviewer, { requestId: decided.id, verdict: 'APPROVE' });
    const overdue = await ask('deploy.update', 'prod/overdue');
    await makeDue([decided.id, overdue.id]);
    await app.deps.db
      .update(actionRequests)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, overdue.id));
    const sent = await remindDueRequests(app.deps);
    expect(sent.map((r) => r.id)).not.toContain(decided.id);
    expect(sent.map((r) => r.id)).not.toContain(overdue.id);
    expect(await reminders([decided.id, overdue.id])).toBe(0);
  });
});

describe('review.remindAt in a policy', () => {
  const rule = (review: Record<string, unknown>) => ({
    defaultEffect: 'ALLOW' as const,
    rules: [{ id: 'r', effect: 'ESCALATE' as const, actions: ['*'], resources: ['**'], review }],
  });

  it.each([[0], [1], [1.5], [-0.2], ['0.5']])('refuses %j', (remindAt) => {
    const issues = validatePolicy(rule({ remindAt }) as Parameters<typeof validatePolicy>[0]);
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: 'r', field: 'review.remindAt' })]));
  });

  it('takes the earliest reminder of the deciding rules', () => {
    const policy = compilePolicy(
      {
        defaultEffect: 'ALLOW',
        rules: [
          { id: 'a', effect: 'ESCALATE', actions: ['*'], resources: ['**'], review: { remindAt: 0.9 } },
          { id: 'b', effect: 'ESCALATE', actions: ['*'], resources: ['**'], review: { remindAt: 0.5 } },
          { id: 'c', effect: 'ESCALATE', actions: ['*'], resources: ['**'] },
        ],
      },
      1,
    );
    const evaluation = evaluatePolicy(policy, {
      action: 'a',
      resource: 'r',
      agent: { id: 'x', name: 'x', groups: [], labels: {} },
      onBehalfOf: null,
      params: null,
      reason: null,
      context: {},
      now: new Date(0),
    });
    expect(evaluation.review?.remindAt).toBe(0.5);
  });
});

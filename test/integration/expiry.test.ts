import { count, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Deps } from '../../src/deps.js';
import { cancelActionRequest } from '../../src/approvals/cancel-action.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { expireOverdueRequests } from '../../src/approvals/expire.js';
import { requestAction } from '../../src/approvals/request-action.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents } from '../../src/db/schema.js';
import { ConflictError, NotFoundError } from '../../src/errors.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let secondInstance: () => Promise<Deps>;
let agent: Principal;
let otherAgent: Principal;
let reviewer: Principal;

/** Puts a request's deadline in the past, as the database sees time. */
async function makeOverdue(ids: string[]) {
  await app.deps.db
    .update(actionRequests)
    .set({ expiresAt: sql`now() - interval '1 second'` })
    .where(inArray(actionRequests.id, ids));
}

async function eventsOf(id: string) {
  return (await app.deps.db.select().from(auditEvents).where(eq(auditEvents.requestId, id)).orderBy(auditEvents.id)).map((e) => e.type);
}

beforeAll(async () => {
  ({ app, stop, secondInstance } = await startTestApp());
  const admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  agent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'bot', roles: ['AGENT'] });
  otherAgent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'other-bot', roles: ['AGENT'] });
  reviewer = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ESCALATE',
    rules: [
      { id: 'deploys', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['**'], review: { groups: ['sre'] } },
      {
        id: 'migrations',
        effect: 'ESCALATE',
        actions: ['db.migrate'],
        resources: ['**'],
        review: { groups: ['sre'], onTimeout: 'REJECT' },
      },
    ],
  });
});

afterAll(async () => {
  await stop?.();
});

describe('the expiry sweeper', () => {
  it('ends each overdue request exactly once when two instances sweep at the same time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++)
      ids.push((await requestAction(app.deps, agent, { action: 'deploy.update', resource: `prod/s${i}` })).request.id);
    await makeOverdue(ids);
    const other = await secondInstance();
    const [a, b] = await Promise.all([expireOverdueRequests(app.deps, 10), expireOverdueRequests(other, 10)]);
    const [c, d] = await Promise.all([expireOverdueRequests(app.deps), expireOverdueRequests(other)]);
    const ended = [...a, ...b, ...c, ...d].map((r) => r.id);
    expect(ended.sort()).toEqual([...ids].sort());
    const [events] = await app.deps.db
      .select({ n: count() })
      .from(auditEvents)
      .where(sql`${auditEvents.type} = 'ACTION_EXPIRED' AND ${inArray(auditEvents.requestId, ids)}`);
    expect(events!.n).toBe(30);
    expect(await expireOverdueRequests(app.deps)).toEqual([]);
  });

  it('expires with decidedBy TIMEOUT, or rejects where the rule says onTimeout REJECT, and leaves the rest alone', async () => {
    const expiring = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/a' })).request;
    const rejecting = (await requestAction(app.deps, agent, { action: 'db.migrate', resource: 'prod/b' })).request;
    const waiting = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/c' })).request;
    await makeOverdue([expiring.id, rejecting.id]);
    const ended = await expireOverdueRequests(app.deps);
    expect(ended.map((r) => [r.id, r.status, r.decidedBy]).sort()).toEqual(
      [
        [expiring.id, 'EXPIRED', 'TIMEOUT'],
        [rejecting.id, 'REJECTED', 'TIMEOUT'],
      ].sort(),
    );
    expect(await eventsOf(expiring.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED', 'ACTION_EXPIRED']);
    expect(await eventsOf(rejecting.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED', 'ACTION_REJECTED']);
    const [still] = await app.deps.db.select().from(actionRequests).where(eq(actionRequests.id, waiting.id));
    expect(still!.status).toBe('PENDING');
  });

  it('lets a reviewer and the sweeper race to exactly one final state', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/race' });
    await makeOverdue([request.id]);
    const [decision, swept] = await Promise.allSettled([
      decideAction(app.deps, reviewer, { requestId: request.id, verdict: 'APPROVE' }),
      expireOverdueRequests(app.deps),
    ]);
    // The deadline has passed, so the reviewer is refused whoever locks the row first.
    expect(decision.status).toBe('rejected');
    expect((decision as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    const sweptIds = swept.status === 'fulfilled' ? swept.value.map((r) => r.id) : [];
    if (!sweptIds.includes(request.id)) await expireOverdueRequests(app.deps);
    expect(await eventsOf(request.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED', 'ACTION_EXPIRED']);
  });
});

describe('cancelActionRequest', () => {
  it("withdraws the agent's own pending request once, audited", async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/cancel' });
    const cancelled = await cancelActionRequest(app.deps, agent, { requestId: request.id, reason: 'superseded' });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', decidedBy: 'REQUESTER', decisionReason: 'superseded', deciderId: agent.id });
    expect(await eventsOf(request.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED', 'ACTION_CANCELLED']);
    await expect(cancelActionRequest(app.deps, agent, { requestId: request.id })).rejects.toBeInstanceOf(ConflictError);
    await expect(decideAction(app.deps, reviewer, { requestId: request.id, verdict: 'APPROVE' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('does not let another agent cancel, or even see, the request', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/mine' });
    await expect(cancelActionRequest(app.deps, otherAgent, { requestId: request.id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(cancelActionRequest(app.deps, otherAgent, { requestId: 'not-a-uuid' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await eventsOf(request.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED']);
  });
});

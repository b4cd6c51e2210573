import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { reportActionOutcome } from '../../src/approvals/report-outcome.js';
import { requestAction } from '../../src/approvals/request-action.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents } from '../../src/db/schema.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../src/errors.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let agent: Principal;
let reviewer: Principal;

beforeAll(async () => {
  ({ app, stop } = await startTestApp());
  const admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  agent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'bot', roles: ['AGENT'] });
  reviewer = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'] });
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ESCALATE',
    rules: [
      { id: 'staging', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'] },
      { id: 'quick-restarts', effect: 'ALLOW', actions: ['service.restart'], resources: ['**'], validForSeconds: 60 },
      { id: 'prod', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['prod/**'], validForSeconds: 3_600 },
      { id: 'never', effect: 'BLOCK', actions: ['db.drop'], resources: ['**'] },
    ],
  });
});

afterAll(async () => {
  await stop?.();
});

/** Seconds between the request's decision and the end of its approval window. */
async function windowSeconds(id: string): Promise<number> {
  const [row] = await app.deps.db
    .select({ seconds: sql<number>`extract(epoch from ${actionRequests.validUntil} - ${actionRequests.decidedAt})::int` })
    .from(actionRequests)
    .where(eq(actionRequests.id, id));
  return row!.seconds;
}

describe('the approval window', () => {
  it("opens when a request is approved, by policy or by a reviewer, for the rule's validForSeconds", async () => {
    const byDefault = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'staging/a' })).request;
    expect(await windowSeconds(byDefault.id)).toBe(900);
    const short = (await requestAction(app.deps, agent, { action: 'service.restart', resource: 'prod/a' })).request;
    expect(await windowSeconds(short.id)).toBe(60);
    const pending = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/a' })).request;
    expect(pending.validUntil).toBeNull();
    await decideAction(app.deps, reviewer, { requestId: pending.id, verdict: 'APPROVE' });
    expect(await windowSeconds(pending.id)).toBe(3_600);
  });
});

describe('reportActionOutcome', () => {
  it('records the outcome of an approved request once, audited', async () => {
    const { request } = await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'staging/b' });
    const reported = await reportActionOutcome(app.deps, agent, { requestId: request.id, outcome: 'SUCCEEDED', detail: 'deploy #812' });
    expect(reported).toMatchObject({ outcome: 'SUCCEEDED', outcomeDetail: 'deploy #812' });
    expect(reported.outcomeReportedAt).toBeInstanceOf(Date);
    await expect(reportActionOutcome(app.deps, agent, { requestId: request.id, outcome: 'FAILED' })).rejects.toBeInstanceOf(ConflictError);
    const events = await app.deps.db.select().from(auditEvents).where(eq(auditEvents.requestId, request.id)).orderBy(auditEvents.id);
    expect(events.map((e) => e.type)).toEqual(['ACTION_REQUESTED', 'ACTION_APPROVED', 'OUTCOME_REPORTED']);
    expect(events[2]!.data).toEqual({ agentId: agent.id, outcome: 'SUCCEEDED', detail: 'deploy #812' });
  });

  it('refuses a request that was not approved, a late report, another agent and bad input, changing nothing', async () => {
    const blocked = (await requestAction(app.deps, agent, { action: 'db.drop', resource: 'prod/x' })).request;
    const pending = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/x' })).request;
    const late = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'staging/late' })).request;
    await app.deps.db
      .update(actionRequests)
      .set({ validUntil: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, late.id));
    const other = await insertPrincipalFor(app, { kind: 'AGENT', name: 'other', roles: ['AGENT'] });

    for (const id of [blocked.id, pending.id, late.id]) {
      await expect(reportActionOutcome(app.deps, agent, { requestId: id, outcome: 'SUCCEEDED' })).rejects.toBeInstanceOf(ConflictError);
    }
    const approved = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'staging/c' })).request;
    await expect(reportActionOutcome(app.deps, other, { requestId: approved.id, outcome: 'SUCCEEDED' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(reportActionOutcome(app.deps, agent, { requestId: approved.id, outcome: 'MAYBE' as never })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    const [row] = await app.deps.db.select().from(actionRequests).where(eq(actionRequests.id, approved.id));
    expect(row!.outcome).toBeNull();
  });
});

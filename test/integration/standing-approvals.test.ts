import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { decideActions } from '../../src/approvals/decide-actions.js';
import { requestAction } from '../../src/approvals/request-action.js';
import { listStandingApprovals, revokeStandingApproval } from '../../src/approvals/standing.js';
import type { Principal } from '../../src/auth/roles.js';
import { auditEvents, principals, reviews, standingApprovals } from '../../src/db/schema.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError } from '../../src/errors.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let admin: Principal;
let agent: Principal;
let otherAgent: Principal;
let ada: Principal;
let grace: Principal;
let outsider: Principal;

beforeAll(async () => {
  ({ app, stop } = await startTestApp());
  admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  agent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  otherAgent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'other-bot', roles: ['AGENT'] });
  ada = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  grace = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['sre'] });
  outsider = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Olga', roles: ['REVIEWER'], groups: ['web'] });
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ESCALATE',
    rules: [
      { id: 'deploys', effect: 'ESCALATE', actions: ['deploy.update'], resources: ['**'], review: { groups: ['sre'] } },
      { id: 'migrations', effect: 'ESCALATE', actions: ['db.migrate'], resources: ['**'], review: { groups: ['sre'], approvals: 2 } },
      { id: 'secrets', effect: 'ESCALATE', actions: ['secret.read'], resources: ['**'], review: { groups: ['sre'], allowStanding: false } },
      { id: 'no-drops', effect: 'BLOCK', actions: ['db.drop'], resources: ['**'] },
    ],
  });
});

afterAll(async () => {
  await stop?.();
});

const ask = async (action: string, resource: string, params: Record<string, unknown> | null = null, who = agent) =>
  (await requestAction(app.deps, who, { action, resource, params })).request;

/** Ada approves a fresh request for `action` on `resource`, granting a standing approval with it. */
async function grant(action: string, resource: string, standing: Record<string, unknown>, params: Record<string, unknown> | null = null) {
  const request = await ask(action, resource, params);
  await decideAction(app.deps, ada, { requestId: request.id, verdict: 'APPROVE', standing: { forSeconds: 600, ...standing } as never });
  const [granted] = await app.deps.db.select().from(standingApprovals).where(eq(standingApprovals.sourceRequestId, request.id));
  return granted!;
}

describe('standing approvals', () => {
  it('approves the next matching request at once, as a review naming the standing approval', async () => {
    const granted = await grant('deploy.update', 'prod/api', {});
    const next = await ask('deploy.update', 'prod/api');
    expect(next).toMatchObject({ status: 'APPROVED', decidedBy: 'REVIEWER', deciderId: ada.id });
    expect(next.decisionReason).toContain('standing approvals of Ada');
    const [review] = await app.deps.db.select().from(reviews).where(eq(reviews.requestId, next.id));
    expect(review).toMatchObject({ reviewerId: ada.id, verdict: 'APPROVE', standingApprovalId: granted.id });
    const types = (await app.deps.db.select({ type: auditEvents.type }).from(auditEvents).where(eq(auditEvents.requestId, next.id))).map(
      (e) => e.type,
    );
    expect(types).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED', 'REVIEW_SUBMITTED', 'STANDING_APPROVAL_USED', 'ACTION_APPROVED']);
  });

  it('covers nothing else: another resource, action or agent, other params when sameParams, a block', async () => {
    await grant('deploy.update', 'prod/web', { sameParams: true }, { version: '1' });
    expect((await ask('deploy.update', 'prod/web', { version: '1' })).status).toBe('APPROVED');
    expect((await ask('deploy.update', 'prod/web', { version: '2' })).status).toBe('PENDING');
    expect((await ask('deploy.update', 'prod/web-2', { version: '1' })).status).toBe('PENDING');
    expect((await ask('deploy.rollback', 'prod/web', { version: '1' })).status).toBe('PENDING');
    expect((await ask('deploy.update', 'prod/web', { version: '1' }, otherAgent)).status).toBe('PENDING');
    expect((await ask('db.drop', 'prod/web')).status).toBe('BLOCKED');
  });

  it('covers a glob the reviewer chose, which must cover the request', async () => {
    await grant('deploy.update', 'staging/api', { resources: 'staging/**' });
    expect((await ask('deploy.update', 'staging/worker')).status).toBe('APPROVED');
    expect((await ask('deploy.update', 'prod/worker')).status).toBe('PENDING');
    const request = await ask('deploy.update', 'prod/db');
    await expect(
      decideAction(app.deps, ada, { requestId: request.id, verdict: 'APPROVE', standing: { resources: 'staging/**', forSeconds: 600 } }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect((await ask('deploy.update', 'prod/db')).status).toBe('PENDING');
  });

  it('counts as one person: a request needing two approvals needs two people', async () => {
    await grant('db.migrate', 'prod/orders', {});
    // Ada's standing approval is one of the two approvals needed.
    const first = await ask('db.migrate', 'prod/orders');
    expect(first.status).toBe('PENDING');
    expect(first.requiredApprovals).toBe(2);
    const review = await decideAction(app.deps, grace, { requestId: first.id, verdict: 'APPROVE', standing: { forSeconds: 600 } });
    expect(review.status).toBe('APPROVED');
    // Ada's and Grace's standing approvals now cover the next one: two people, quorum met at once.
    const next = await ask('db.migrate', 'prod/orders');
    expect(next.status).toBe('APPROVED');
    expect((await app.deps.db.select().from(reviews).where(eq(reviews.requestId, next.id))).map((r) => r.reviewerId).sort()).toEqual(
      [ada.id, grace.id].sort(),
    );
  });

  it('is refused where the policy forbids it, and only with an approval', async () => {
    const secret = await ask('secret.read', 'vault/db');
    await expect(
      decideAction(app.deps, ada, { requestId: secret.id, verdict: 'APPROVE', standing: { forSeconds: 600 } }),
    ).rejects.toBeInstanceOf(NotAllowedError);
    const other = await ask('deploy.update', 'prod/cache');
    await expect(
      decideAction(app.deps, ada, { requestId: other.id, verdict: 'REJECT', standing: { forSeconds: 600 } }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      decideAction(app.deps, ada, { requestId: other.id, verdict: 'APPROVE', standing: { forSeconds: 90_000 } }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect((await ask('secret.read', 'vault/db')).status).toBe('PENDING');
  });

  it('never stands in for a reviewer who may no longer review the request', async () => {
    const lin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Lin', roles: ['REVIEWER'], groups: ['sre'] });
    const request = await ask('deploy.update', 'prod/lin');
    await decideAction(app.deps, lin, { requestId: request.id, verdict: 'APPROVE', standing: { forSeconds: 600 } });
    await app.deps.db
      .update(principals)
      .set({ groups: ['web'] })
      .where(eq(principals.id, lin.id));
    expect((await ask('deploy.update', 'prod/lin')).status).toBe('PENDING');
  });

  it('stops covering requests once revoked or expired', async () => {
    const revoked = await grant('deploy.update', 'prod/search', {});
    await expect(revokeStandingApproval(app.deps, outsider, { standingApprovalId: revoked.id })).rejects.toBeInstanceOf(NotFoundError);
    await revokeStandingApproval(app.deps, ada, { standingApprovalId: revoked.id, reason: 'done' });
    await expect(revokeStandingApproval(app.deps, admin, { standingApprovalId: revoked.id })).rejects.toBeInstanceOf(ConflictError);
    expect((await ask('deploy.update', 'prod/search')).status).toBe('PENDING');

    const expired = await grant('deploy.update', 'prod/mail', {});
    await app.deps.db
      .update(standingApprovals)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(standingApprovals.id, expired.id));
    expect((await ask('deploy.update', 'prod/mail')).status).toBe('PENDING');

    const byAdmin = await grant('deploy.update', 'prod/queue', {});
    await revokeStandingApproval(app.deps, admin, { standingApprovalId: byAdmin.id });
    expect((await ask('deploy.update', 'prod/queue')).status).toBe('PENDING');

    const live = await listStandingApprovals(app.deps.db, ada, false);
    expect(live.map((s) => s.id)).not.toContain(revoked.id);
    expect((await listStandingApprovals(app.deps.db, ada, true)).map((s) => s.id)).toEqual(
      expect.arrayContaining([revoked.id, expired.id, byAdmin.id]),
    );
    expect(await listStandingApprovals(app.deps.db, outsider, true)).toEqual([]);
    const revokedEvents = await app.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.type, 'STANDING_APPROVAL_REVOKED'), eq(auditEvents.requestId, revoked.sourceRequestId)));
    expect(revokedEvents).toHaveLength(1);
  });

  it('after a change of params, covers only the changed params (never what the agent first asked)', async () => {
    await publishPolicy(app.deps, admin, {
      defaultEffect: 'ESCALATE',
      rules: [
        { id: 'payments', effect: 'ESCALATE', actions: ['pay.send'], resources: ['**'], review: { groups: ['sre'] }, allowAmend: true },
      ],
    });
    const asked = await ask('pay.send', 'acct/alice', { amount: 1000 });
    await decideAction(app.deps, ada, { requestId: asked.id, verdict: 'APPROVE', params: { amount: 10 }, standing: { forSeconds: 600 } });
    expect((await ask('pay.send', 'acct/alice', { amount: 1000 })).status).toBe('PENDING');
    expect((await ask('pay.send', 'acct/alice', { amount: 10 })).status).toBe('APPROVED');
    const [granted] = await app.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.type, 'STANDING_APPROVAL_GRANTED'), eq(auditEvents.requestId, asked.id)));
    // The params' hash stays out of the audit log: it would undo redaction.
    expect(granted!.data).toMatchObject({ sameParams: true, ruleIds: ['payments'] });
    expect(JSON.stringify(granted!.data)).not.toContain('paramsSha256');
  });

  it('covers only requests for the same human, escalated only by rules the reviewer judged', async () => {
    const bob = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Bob', roles: ['AUDITOR'] });
    const bobsAgent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'bobs-bot', roles: ['AGENT'], owner: bob.id });
    await publishPolicy(app.deps, admin, {
      defaultEffect: 'ESCALATE',
      rules: [
        { id: 'staging', effect: 'ESCALATE', actions: ['deploy.update'], resources: ['staging/**'], review: { groups: ['sre'] } },
        { id: 'prod-critical', effect: 'ESCALATE', actions: ['deploy.update'], resources: ['prod/**'], review: { groups: ['sre'] } },
      ],
    });
    const source = (await requestAction(app.deps, bobsAgent, { action: 'deploy.update', resource: 'staging/web' })).request;
    await decideAction(app.deps, ada, { requestId: source.id, verdict: 'APPROVE', standing: { resources: '**', forSeconds: 600 } });
    const again = (await requestAction(app.deps, bobsAgent, { action: 'deploy.update', resource: 'staging/api' })).request;
    expect(again.status).toBe('APPROVED');
    const forBob = (await requestAction(app.deps, bobsAgent, { action: 'deploy.update', resource: 'staging/api', onBehalfOf: bob.id }))
      .request;
    expect(forBob.status).toBe('PENDING');
    const otherRule = (await requestAction(app.deps, bobsAgent, { action: 'deploy.update', resource: 'prod/db' })).request;
    expect(otherRule.status).toBe('PENDING');
  });

  it('stops applying once the policy forbids standing approvals for the rule', async () => {
    await publishPolicy(app.deps, admin, {
      defaultEffect: 'ESCALATE',
      rules: [{ id: 'flags', effect: 'ESCALATE', actions: ['flag.set'], resources: ['**'], review: { groups: ['sre'] } }],
    });
    const source = await ask('flag.set', 'checkout');
    await decideAction(app.deps, ada, { requestId: source.id, verdict: 'APPROVE', standing: { forSeconds: 600 } });
    expect((await ask('flag.set', 'checkout')).status).toBe('APPROVED');
    await publishPolicy(app.deps, admin, {
      defaultEffect: 'ESCALATE',
      rules: [
        { id: 'flags', effect: 'ESCALATE', actions: ['flag.set'], resources: ['**'], review: { groups: ['sre'], allowStanding: false } },
      ],
    });
    expect((await ask('flag.set', 'checkout')).status).toBe('PENDING');
  });

  it('never comes from a batch', async () => {
    const request = await ask('deploy.update', 'prod/batch');
    await decideActions(app.deps, grace, {
      decisions: [{ requestId: request.id, verdict: 'APPROVE', standing: { forSeconds: 600 } } as never],
    });
    const granted = await app.deps.db.select().from(standingApprovals).where(eq(standingApprovals.sourceRequestId, request.id));
    expect(granted).toEqual([]);
  });
});

import { grantDelegation } from '../../src/auth/delegations.js';
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Deps } from '../../src/deps.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { escalateDueRequests } from '../../src/approvals/escalate.js';
import { expireOverdueRequests } from '../../src/approvals/expire.js';
import { extendActionRequest } from '../../src/approvals/extend-action.js';
import { overrideDecision } from '../../src/approvals/override-decision.js';
import { getActionRequest, listPendingApprovals, listReviewsForRequests } from '../../src/approvals/queries.js';
import { requestAction } from '../../src/approvals/request-action.js';
import { tallyReviews } from '../../src/approvals/requirements.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents, reviews, type ActionRequestRow } from '../../src/db/schema.js';
import { ConflictError, InvalidInputError, NotAllowedError, NotFoundError, SeparationOfDutiesError } from '../../src/errors.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let secondInstance: () => Promise<Deps>;
let admin: Principal;
let owner: Principal;
let agent: Principal;
let otherAgent: Principal;
let boss: Principal;
let sre: Principal[];
let security: Principal;
let both: Principal;
let platform: Principal;

const byId = (people: Principal[]) => people.map((p) => p.id);

async function eventsOf(requestId: string) {
  return app.deps.db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId)).orderBy(asc(auditEvents.id));
}

async function typesOf(requestId: string) {
  return (await eventsOf(requestId)).map((event) => event.type);
}

async function reload(id: string): Promise<ActionRequestRow> {
  return (await getActionRequest(app.deps.db, admin, id))!;
}

async function progress(request: ActionRequestRow) {
  return tallyReviews(request, await listReviewsForRequests(app.deps.db, [request.id]));
}

/** Moves a request `seconds` into its past, as the database sees time: creation, steps and deadline. */
async function age(id: string, seconds: number) {
  const shift = sql`make_interval(secs => ${seconds})`;
  await app.deps.db
    .update(actionRequests)
    .set({
      createdAt: sql`${actionRequests.createdAt} - ${shift}`,
      nextEscalationAt: sql`${actionRequests.nextEscalationAt} - ${shift}`,
      expiresAt: sql`${actionRequests.expiresAt} - ${shift}`,
    })
    .where(eq(actionRequests.id, id));
}

async function ask(action: string, resource: string, extra: Record<string, unknown> = {}) {
  return (await requestAction(app.deps, agent, { action, resource, ...extra })).request;
}

beforeAll(async () => {
  ({ app, stop, secondInstance } = await startTestApp());
  admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  owner = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Owen Owner', roles: ['REVIEWER'], groups: ['sre', 'security'] });
  agent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'], owner: owner.id });
  otherAgent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'other-bot', roles: ['AGENT'] });
  boss = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Bea Boss', roles: ['REVIEWER'], groups: ['sre'] });
  sre = [];
  for (let i = 0; i < 24; i++)
    sre.push(await insertPrincipalFor(app, { kind: 'HUMAN', name: `sre-${i}`, roles: ['REVIEWER'], groups: ['sre'] }));
  security = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Sec', roles: ['REVIEWER'], groups: ['security'] });
  both = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Bo Th', roles: ['REVIEWER'], groups: ['sre', 'security'] });
  platform = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Plat', roles: ['REVIEWER'], groups: ['platform'] });
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ESCALATE',
    rules: [
      { id: 'sre-two', effect: 'ESCALATE', actions: ['db.migrate'], resources: ['prod/**'], review: { groups: ['sre'], approvals: 2 } },
      {
        id: 'security-one',
        effect: 'ESCALATE',
        actions: ['db.migrate'],
        resources: ['prod/**'],
        review: { groups: ['security'], approvals: 1 },
      },
      { id: 'prod', effect: 'ESCALATE', actions: ['deploy.update'], resources: ['prod/**'], review: { groups: ['sre'] } },
      {
        id: 'ladder',
        effect: 'ESCALATE',
        actions: ['dns.update'],
        resources: ['**'],
        review: {
          groups: ['sre'],
          timeoutSeconds: 3_600,
          escalation: [
            { afterSeconds: 60, groups: ['security'] },
            { afterSeconds: 120, groups: ['platform'] },
          ],
        },
      },
      { id: 'net-sre', effect: 'ESCALATE', actions: ['net.open'], resources: ['**'], review: { groups: ['sre'] } },
      {
        id: 'net-security',
        effect: 'ESCALATE',
        actions: ['net.open'],
        resources: ['**'],
        review: { groups: ['security'], escalation: [{ afterSeconds: 60, groups: ['sre'] }] },
      },
      { id: 'scale', effect: 'ESCALATE', actions: ['deploy.scale'], resources: ['**'], allowAmend: true, review: { groups: ['sre'] } },
      {
        id: 'resize',
        effect: 'ESCALATE',
        actions: ['deploy.resize'],
        resources: ['**'],
        allowAmend: true,
        review: { groups: ['sre'], approvals: 2 },
      },
      {
        id: 'too-big',
        effect: 'BLOCK',
        actions: ['deploy.scale'],
        resources: ['**'],
        when: 'params.replicas > 10',
        reason: 'At most 10 replicas',
      },
      {
        id: 'big-needs-security',
        effect: 'ESCALATE',
        actions: ['deploy.scale'],
        resources: ['**'],
        when: 'params.replicas > 5',
        review: { groups: ['security'], approvals: 2 },
      },
    ],
  });
});

afterAll(async () => {
  await stop?.();
});

describe('quorum', () => {
  it('needs 2 of sre and 1 of security; a person in both groups counts once', async () => {
    const request = await ask('db.migrate', 'prod/orders');
    expect(request).toMatchObject({ status: 'PENDING', requiredApprovals: 3, requiredGroups: ['security', 'sre'] });
    expect(request.reviewRequirements.map((r) => [r.ruleId, r.groups, r.approvals])).toEqual([
      ['sre-two', ['sre'], 2],
      ['security-one', ['security'], 1],
    ]);

    expect((await decideAction(app.deps, both, { requestId: request.id, verdict: 'APPROVE' })).status).toBe('PENDING');
    const afterTwo = await decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE' });
    // Two approvals, but `both` can fill one slot only: one requirement is still short.
    expect(afterTwo.status).toBe('PENDING');
    const tally = await progress(afterTwo);
    expect(tally).toMatchObject({ met: false, received: 2, required: 3 });
    expect(tally.requirements.map((r) => r.approverIds.length).reduce((a, b) => a + b)).toBe(2);

    // A second sre approver lets `both` count for security instead: the quorum is met.
    const approved = await decideAction(app.deps, sre[1]!, { requestId: request.id, verdict: 'APPROVE', comment: 'three people' });
    expect(approved).toMatchObject({ status: 'APPROVED', decidedBy: 'REVIEWER', deciderId: sre[1]!.id, decisionReason: 'three people' });
    const final = await progress(approved);
    expect(final.requirements.map((r) => [r.ruleId, r.approverIds.sort(), r.met])).toEqual([
      ['sre-two', byId([sre[0]!, sre[1]!]).sort(), true],
      ['security-one', [both.id], true],
    ]);
    expect(await typesOf(request.id)).toEqual([
      'ACTION_REQUESTED',
      'ACTION_ESCALATED',
      'REVIEW_SUBMITTED',
      'REVIEW_SUBMITTED',
      'REVIEW_SUBMITTED',
      'ACTION_APPROVED',
    ]);
    expect((await eventsOf(request.id)).filter((e) => e.type === 'REVIEW_SUBMITTED').map((e) => e.data['approvalsReceived'])).toEqual([
      1, 2, 3,
    ]);
  });

  it('is rejected by one eligible rejection mid-way', async () => {
    const request = await ask('db.migrate', 'prod/billing');
    await decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE' });
    await decideAction(app.deps, sre[1]!, { requestId: request.id, verdict: 'APPROVE' });
    const rejected = await decideAction(app.deps, security, { requestId: request.id, verdict: 'REJECT', comment: 'no rollback plan' });
    expect(rejected).toMatchObject({
      status: 'REJECTED',
      decidedBy: 'REVIEWER',
      deciderId: security.id,
      decisionReason: 'no rollback plan',
    });
    await expect(decideAction(app.deps, sre[2]!, { requestId: request.id, verdict: 'APPROVE' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('hides the request from reviewers outside every group', async () => {
    const request = await ask('db.migrate', 'prod/hidden');
    await expect(decideAction(app.deps, platform, { requestId: request.id, verdict: 'APPROVE' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await getActionRequest(app.deps.db, platform, request.id)).toBeNull();
  });

  it('gives exactly one APPROVED when 20 reviewers race for the last approval', async () => {
    const request = await ask('db.migrate', 'prod/race');
    await decideAction(app.deps, security, { requestId: request.id, verdict: 'APPROVE' });
    await decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE' });
    const racers = sre.slice(1, 21);
    const results = await Promise.allSettled(racers.map((r) => decideAction(app.deps, r, { requestId: request.id, verdict: 'APPROVE' })));
    const won = results.filter((r): r is PromiseFulfilledResult<ActionRequestRow> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(won[0]!.value.status).toBe('APPROVED');
    for (const lost of results.filter((r) => r.status === 'rejected'))
      expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    const types = await typesOf(request.id);
    expect(types.filter((t) => t === 'ACTION_APPROVED')).toHaveLength(1);
    expect(types.filter((t) => t === 'REVIEW_SUBMITTED')).toHaveLength(3);
  });
});

describe('separation of duties', () => {
  it('refuses every party to the request with a typed error and audits each attempt', async () => {
    await grantDelegation(app.deps, boss, { agentId: agent.id, actions: ['deploy.*'] });
    const request = (await requestAction(app.deps, agent, { action: 'deploy.update', resource: 'prod/sod', onBehalfOf: boss.id })).request;
    expect(request.ownerId).toBe(owner.id);
    const attempts: [Principal, string][] = [
      [{ ...agent, roles: ['AGENT', 'REVIEWER'] }, 'REQUESTING_AGENT'],
      [otherAgent, 'AGENT'],
      [owner, 'OWNER'],
      [boss, 'ON_BEHALF_OF'],
    ];
    for (const [principal, party] of attempts) {
      const attempt = decideAction(app.deps, principal, { requestId: request.id, verdict: 'APPROVE' });
      await expect(attempt).rejects.toBeInstanceOf(SeparationOfDutiesError);
      await expect(attempt).rejects.toMatchObject({ party });
    }
    const refused = (await eventsOf(request.id)).filter((e) => e.type === 'REVIEW_REFUSED');
    expect(refused.map((e) => [e.actorId, e.data['party'], e.data['verdict']])).toEqual([
      [agent.id, 'REQUESTING_AGENT', 'APPROVE'],
      [otherAgent.id, 'AGENT', 'APPROVE'],
      [owner.id, 'OWNER', 'APPROVE'],
      [boss.id, 'ON_BEHALF_OF', 'APPROVE'],
    ]);
    const [reviewCount] = await app.deps.db.select({ n: count() }).from(reviews).where(eq(reviews.requestId, request.id));
    expect(reviewCount!.n).toBe(0);
    expect((await reload(request.id)).status).toBe('PENDING');

    // The owner and the human it acts for may follow the request, but it is not in their queues.
    expect(await getActionRequest(app.deps.db, owner, request.id)).not.toBeNull();
    for (const party of [owner, boss]) {
      const queue = await listPendingApprovals(app.deps.db, party, { afterPosition: null, limit: 1_000 });
      expect(queue.map((r) => r.id)).not.toContain(request.id);
    }
    const queue = await listPendingApprovals(app.deps.db, sre[0]!, { afterPosition: null, limit: 1_000 });
    expect(queue.map((r) => r.id)).toContain(request.id);
    // A party cannot stretch the deadline either, and that attempt is recorded too.
    await expect(extendActionRequest(app.deps, owner, { requestId: request.id, bySeconds: 60 })).rejects.toMatchObject({ party: 'OWNER' });
    const last = (await eventsOf(request.id)).at(-1)!;
    expect([last.type, last.actorId, last.data['party'], last.data['verdict']]).toEqual(['REVIEW_REFUSED', owner.id, 'OWNER', null]);
    expect((await reload(request.id)).extensions).toBe(0);
  });

  it('refuses an agent with a typed error even for a request that does not exist, writing nothing', async () => {
    const before = await app.deps.db.select({ n: count() }).from(auditEvents);
    await expect(
      decideAction(app.deps, otherAgent, { requestId: '00000000-0000-4000-8000-000000000000', verdict: 'REJECT' }),
    ).rejects.toMatchObject({
      party: 'AGENT',
    });
    expect(await app.deps.db.select({ n: count() }).from(auditEvents)).toEqual(before);
  });

  it('gives an ADMIN no silent exception: without the REVIEWER role decideAction is refused', async () => {
    const request = await ask('deploy.update', 'prod/admin');
    await expect(decideAction(app.deps, admin, { requestId: request.id, verdict: 'APPROVE' })).rejects.toBeInstanceOf(NotAllowedError);
  });
});

describe('overrideDecision', () => {
  it('lets an ADMIN decide outside the rules, with a reason, flagged and audited', async () => {
    const request = await ask('db.migrate', 'prod/override');
    await decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE' });
    const overridden = await overrideDecision(app.deps, admin, {
      requestId: request.id,
      verdict: 'APPROVE',
      reason: 'Incident 42: outage',
    });
    expect(overridden).toMatchObject({
      status: 'APPROVED',
      decidedBy: 'ADMIN',
      deciderId: admin.id,
      decisionReason: 'Incident 42: outage',
    });
    expect(overridden.validUntil).toBeInstanceOf(Date);
    const events = await eventsOf(request.id);
    expect(events.slice(-2).map((e) => [e.type, e.actorId])).toEqual([
      ['DECISION_OVERRIDDEN', admin.id],
      ['ACTION_APPROVED', admin.id],
    ]);
    expect(events.at(-2)!.data).toMatchObject({ verdict: 'APPROVE', reason: 'Incident 42: outage', approvalsReceived: 1 });
    expect(events.at(-1)!.data).toMatchObject({ decidedBy: 'ADMIN' });
    await expect(overrideDecision(app.deps, admin, { requestId: request.id, verdict: 'REJECT', reason: 'again' })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('never lets an ADMIN approve, even by override, a request it is a party to', async () => {
    const bossAdmin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Ida Admin', roles: ['ADMIN'] });
    const ownedBot = await insertPrincipalFor(app, { kind: 'AGENT', name: 'owned-bot', roles: ['AGENT'], owner: bossAdmin.id });
    const { request } = await requestAction(app.deps, ownedBot, { action: 'deploy.update', resource: 'prod/own' });
    const attempt = overrideDecision(app.deps, bossAdmin, { requestId: request.id, verdict: 'APPROVE', reason: 'trust me' });
    await expect(attempt).rejects.toMatchObject({ name: 'SeparationOfDutiesError', party: 'OWNER' });
    expect(await typesOf(request.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED', 'REVIEW_REFUSED']);
    // Stopping it is always allowed.
    const rejected = await overrideDecision(app.deps, bossAdmin, { requestId: request.id, verdict: 'REJECT', reason: 'not like this' });
    expect(rejected).toMatchObject({ status: 'REJECTED', decidedBy: 'ADMIN' });
  });

  it('refuses a missing reason and a non-admin, writing nothing', async () => {
    const request = await ask('db.migrate', 'prod/override-refused');
    await expect(overrideDecision(app.deps, admin, { requestId: request.id, verdict: 'REJECT', reason: '  ' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(
      overrideDecision(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE', reason: 'I say so' }),
    ).rejects.toBeInstanceOf(NotAllowedError);
    expect(await typesOf(request.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED']);
    expect((await reload(request.id)).status).toBe('PENDING');
  });
});

describe('the timeout ladder', () => {
  it('adds groups step by step in database time, exactly once with two instances sweeping, then times out', async () => {
    const request = await ask('dns.update', 'example.com');
    const [row] = await app.deps.db
      .select({ due: sql<boolean>`${actionRequests.nextEscalationAt} = ${actionRequests.createdAt} + interval '60 seconds'` })
      .from(actionRequests)
      .where(eq(actionRequests.id, request.id));
    expect(row!.due).toBe(true);
    await expect(decideAction(app.deps, security, { requestId: request.id, verdict: 'APPROVE' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await escalateDueRequests(app.deps)).toEqual([]);

    await age(request.id, 61);
    const other = await secondInstance();
    const [a, b] = await Promise.all([escalateDueRequests(app.deps), escalateDueRequests(other)]);
    expect([...a, ...b].filter((r) => r.id === request.id)).toHaveLength(1);
    let current = await reload(request.id);
    expect(current.requiredGroups).toEqual(['security', 'sre']);
    expect(current.reviewRequirements[0]!.reached).toBe(1);
    const steps = (await eventsOf(request.id)).filter((e) => e.type === 'ACTION_ESCALATED');
    expect(steps).toHaveLength(2);
    expect(steps[1]!.data['step']).toEqual({ previousRequiredGroups: ['sre'], addedGroups: ['security'] });
    expect(await getActionRequest(app.deps.db, security, request.id)).not.toBeNull();

    await age(request.id, 60);
    await escalateDueRequests(app.deps);
    current = await reload(request.id);
    expect(current.requiredGroups).toEqual(['platform', 'security', 'sre']);
    expect(current.nextEscalationAt).toBeNull();
    expect((await eventsOf(request.id)).filter((e) => e.type === 'ACTION_ESCALATED')).toHaveLength(3);

    await age(request.id, 3_600);
    expect((await expireOverdueRequests(app.deps)).map((r) => r.id)).toContain(request.id);
    expect(await reload(request.id)).toMatchObject({ status: 'EXPIRED', decidedBy: 'TIMEOUT', nextEscalationAt: null });
  });

  it('approves when a step lets an approval already given count', async () => {
    const request = await ask('net.open', 'port/443');
    await decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE' });
    expect((await decideAction(app.deps, sre[1]!, { requestId: request.id, verdict: 'APPROVE' })).status).toBe('PENDING');
    await age(request.id, 61);
    await escalateDueRequests(app.deps);
    expect(await reload(request.id)).toMatchObject({ status: 'APPROVED', decidedBy: 'REVIEWER', deciderId: null });
    expect((await typesOf(request.id)).slice(-2)).toEqual(['ACTION_ESCALATED', 'ACTION_APPROVED']);
  });
});

describe('extendActionRequest', () => {
  it('moves the deadline by exactly the given seconds, at most three times, audited', async () => {
    const request = await ask('deploy.update', 'prod/extend');
    const extended = await extendActionRequest(app.deps, sre[0]!, {
      requestId: request.id,
      bySeconds: 600,
      reason: 'waiting for the vendor',
    });
    expect(extended.expiresAt!.getTime() - request.expiresAt!.getTime()).toBe(600_000);
    expect(extended.extensions).toBe(1);
    const [event] = (await eventsOf(request.id)).filter((e) => e.type === 'ACTION_EXTENDED');
    expect(event!.data).toMatchObject({ reviewerId: sre[0]!.id, bySeconds: 600, extensions: 1, reason: 'waiting for the vendor' });
    await extendActionRequest(app.deps, sre[1]!, { requestId: request.id, bySeconds: 1 });
    await extendActionRequest(app.deps, sre[0]!, { requestId: request.id, bySeconds: 1 });
    await expect(extendActionRequest(app.deps, sre[0]!, { requestId: request.id, bySeconds: 1 })).rejects.toBeInstanceOf(ConflictError);
    expect((await reload(request.id)).extensions).toBe(3);
  });

  it('refuses bad durations, outsiders and overdue requests, writing nothing', async () => {
    const request = await ask('deploy.update', 'prod/extend-refused');
    for (const bySeconds of [0, -5, 1.5, 86_401]) {
      await expect(extendActionRequest(app.deps, sre[0]!, { requestId: request.id, bySeconds })).rejects.toBeInstanceOf(InvalidInputError);
    }
    await expect(extendActionRequest(app.deps, platform, { requestId: request.id, bySeconds: 60 })).rejects.toBeInstanceOf(NotFoundError);
    await app.deps.db
      .update(actionRequests)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, request.id));
    await expect(extendActionRequest(app.deps, sre[0]!, { requestId: request.id, bySeconds: 60 })).rejects.toBeInstanceOf(ConflictError);
    expect(await typesOf(request.id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED']);
  });
});

describe('approve with changes', () => {
  it('stores the amendment next to the original and approves it', async () => {
    const request = await ask('deploy.scale', 'prod/api', { params: { replicas: 4, region: 'eu' } });
    const approved = await decideAction(app.deps, sre[0]!, {
      requestId: request.id,
      verdict: 'APPROVE',
      comment: '3 is enough',
      params: { replicas: 3, region: 'eu' },
    });
    expect(approved).toMatchObject({
      status: 'APPROVED',
      params: { replicas: 4, region: 'eu' },
      amendedParams: { replicas: 3, region: 'eu' },
      revision: 1,
      decisionReason: '3 is enough',
    });
    expect(approved.amendedEvaluation).toMatchObject({ effect: 'ESCALATE', matchedRules: ['scale'] });
    const submitted = (await eventsOf(request.id)).find((e) => e.type === 'REVIEW_SUBMITTED')!;
    expect(submitted.data).toMatchObject({ revision: 1, amendedParams: { replicas: 3, region: 'eu' } });
  });

  it('refuses a change the policy would block, and changes where no rule allows them, writing nothing', async () => {
    const request = await ask('deploy.scale', 'prod/web', { params: { replicas: 4 } });
    const blocked = decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE', params: { replicas: 50 } });
    await expect(blocked).rejects.toBeInstanceOf(InvalidInputError);
    await expect(blocked).rejects.toMatchObject({
      problems: [{ field: 'params', message: expect.stringMatching(/"too-big".*At most 10 replicas/) }],
    });
    await expect(
      decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'REJECT', params: { replicas: 2 } }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    // A change that would need reviews the request does not have (two from security) is refused.
    const stricter = decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE', params: { replicas: 9 } });
    await expect(stricter).rejects.toMatchObject({
      problems: [{ field: 'params', message: expect.stringMatching(/"big-needs-security"/) }],
    });
    const fixed = await ask('deploy.update', 'prod/no-amend', { params: { image: 'v2' } });
    await expect(
      decideAction(app.deps, sre[0]!, { requestId: fixed.id, verdict: 'APPROVE', params: { image: 'v3' } }),
    ).rejects.toBeInstanceOf(NotAllowedError);
    for (const id of [request.id, fixed.id]) {
      expect(await typesOf(id)).toEqual(['ACTION_REQUESTED', 'ACTION_ESCALATED']);
      expect(await reload(id)).toMatchObject({ status: 'PENDING', revision: 0, amendedParams: null });
    }
  });

  it('stops counting approvals of the earlier version', async () => {
    const request = await ask('deploy.resize', 'prod/db', { params: { size: 'xl' } });
    await decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE' });
    const amended = await decideAction(app.deps, sre[1]!, { requestId: request.id, verdict: 'APPROVE', params: { size: 'l' } });
    expect(amended).toMatchObject({ status: 'PENDING', revision: 1 });
    expect((await progress(amended)).received).toBe(1);
    // The first reviewer approves the amended version too: now two people approved the same thing.
    const approved = await decideAction(app.deps, sre[0]!, { requestId: request.id, verdict: 'APPROVE' });
    expect(approved).toMatchObject({ status: 'APPROVED', amendedParams: { size: 'l' }, revision: 1 });
    const rows = await app.deps.db
      .select()
      .from(reviews)
      .where(and(eq(reviews.requestId, request.id), eq(reviews.reviewerId, sre[0]!.id)));
    expect(rows.map((r) => r.revision).sort()).toEqual([0, 1]);
  });
});

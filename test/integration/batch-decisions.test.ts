import { count, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { decideActions, type BatchDecisionResult } from '../../src/approvals/decide-actions.js';
import { expireOverdueRequests } from '../../src/approvals/expire.js';
import { requestAction } from '../../src/approvals/request-action.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents, reviews } from '../../src/db/schema.js';
import { ConflictError, InvalidInputError, SeparationOfDutiesError } from '../../src/errors.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let admin: Principal;
let agent: Principal;
let ada: Principal;
let grace: Principal;

beforeAll(async () => {
  ({ app, stop } = await startTestApp());
  admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  agent = await insertPrincipalFor(app, { kind: 'AGENT', name: 'batch-bot', roles: ['AGENT'] });
  ada = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  grace = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Grace', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ESCALATE',
    rules: [
      { id: 'one', effect: 'ESCALATE', actions: ['deploy.update'], resources: ['**'], review: { groups: ['sre'] } },
      { id: 'two', effect: 'ESCALATE', actions: ['db.migrate'], resources: ['**'], review: { groups: ['sre'], approvals: 2 } },
      {
        id: 'amendable',
        effect: 'ESCALATE',
        actions: ['deploy.scale'],
        resources: ['**'],
        allowAmend: true,
        review: { groups: ['sre'], approvals: 2 },
      },
    ],
  });
});

afterAll(async () => {
  await stop?.();
});

async function pending(count: number, action = 'deploy.update'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await requestAction(app.deps, agent, { action, resource: `svc/${action}-${i}-${Math.random()}` })).request.id);
  return ids;
}

const statusOf = async (ids: string[]) =>
  Object.fromEntries(
    (
      await app.deps.db
        .select({ id: actionRequests.id, status: actionRequests.status })
        .from(actionRequests)
        .where(inArray(actionRequests.id, ids))
    ).map((row) => [row.id, row.status]),
  );

const outcome = (result: BatchDecisionResult) => (result.error ? result.error.constructor.name : result.request!.status);

describe('batch decisions (decideActions)', () => {
  it('decides each on its own: one decided elsewhere meanwhile is refused, the others stand', async () => {
    const [a, b, c] = await pending(3);
    await decideAction(app.deps, grace, { requestId: b!, verdict: 'REJECT', comment: 'not this one' });
    const results = await decideActions(app.deps, ada, {
      decisions: [a!, b!, c!].map((requestId) => ({ requestId, verdict: 'APPROVE' as const, comment: 'batch ok' })),
    });
    expect(results.map((r) => r.requestId)).toEqual([a, b, c]);
    expect(results.map(outcome)).toEqual(['APPROVED', 'ConflictError', 'APPROVED']);
    expect((results[1]!.error as ConflictError).currentStatus).toBe('REJECTED');
    expect(await statusOf([a!, b!, c!])).toEqual({ [a!]: 'APPROVED', [b!]: 'REJECTED', [c!]: 'APPROVED' });
    const [written] = await app.deps.db
      .select({ n: count() })
      .from(reviews)
      .where(sql`${reviews.requestId} in (${a}, ${c}) and ${reviews.comment} = 'batch ok'`);
    expect(written!.n).toBe(2);
  });

  it('refuses an item whose params changed since the reviewer read it (its revision), writing nothing for it; the others stand', async () => {
    const [changed] = await pending(1, 'deploy.scale');
    const [other] = await pending(1);
    const amended = await decideAction(app.deps, grace, { requestId: changed!, verdict: 'APPROVE', params: { replicas: 1 } });
    expect(amended.revision).toBe(1);
    const results = await decideActions(app.deps, ada, {
      decisions: [
        { requestId: changed!, verdict: 'APPROVE', revision: 0 },
        { requestId: other!, verdict: 'APPROVE', revision: 0 },
      ],
    });
    expect(results.map(outcome)).toEqual(['ConflictError', 'APPROVED']);
    expect(results[0]!.error!.message).toContain('revision 1 is current');
    const [written] = await app.deps.db
      .select({ n: count() })
      .from(reviews)
      .where(sql`${reviews.requestId} = ${changed} and ${reviews.reviewerId} = ${ada.id}`);
    expect(written!.n).toBe(0);
  });

  it('counts a batch approval as one person towards quorum, like decideAction', async () => {
    const [two] = await pending(1, 'db.migrate');
    const [first] = await decideActions(app.deps, ada, { decisions: [{ requestId: two!, verdict: 'APPROVE' }] });
    expect(first!.request!.status).toBe('PENDING');
    const [again] = await decideActions(app.deps, ada, { decisions: [{ requestId: two!, verdict: 'APPROVE' }] });
    expect(again!.error).toBeInstanceOf(ConflictError);
    const [second] = await decideActions(app.deps, grace, { decisions: [{ requestId: two!, verdict: 'APPROVE' }] });
    expect(second!.request!.status).toBe('APPROVED');
  });

  it('refuses a malformed batch whole, writing nothing', async () => {
    const [a] = await pending(1);
    const before = (await app.deps.db.select({ n: count() }).from(auditEvents))[0]!.n;
    for (const decisions of [
      [],
      [
        { requestId: a!, verdict: 'APPROVE' },
        { requestId: a!, verdict: 'REJECT' },
      ],
      Array.from({ length: 51 }, () => ({ requestId: a!, verdict: 'APPROVE' })),
    ]) {
      await expect(decideActions(app.deps, ada, { decisions: decisions as never })).rejects.toBeInstanceOf(InvalidInputError);
    }
    expect((await app.deps.db.select({ n: count() }).from(auditEvents))[0]!.n).toBe(before);
    expect((await statusOf([a!]))[a!]).toBe('PENDING');
  });

  it('gives an agent a separation-of-duties refusal per item', async () => {
    const [a] = await pending(1);
    const [result] = await decideActions(app.deps, agent, { decisions: [{ requestId: a!, verdict: 'APPROVE' }] });
    expect(result!.error).toBeInstanceOf(SeparationOfDutiesError);
    expect((await statusOf([a!]))[a!]).toBe('PENDING');
  });

  it('races a second reviewer to exactly one decision per request', async () => {
    const ids = await pending(6);
    const [batch, singles] = await Promise.all([
      decideActions(app.deps, ada, { decisions: ids.map((requestId) => ({ requestId, verdict: 'APPROVE' as const })) }),
      Promise.all(
        [...ids].reverse().map((requestId) =>
          decideAction(app.deps, grace, { requestId, verdict: 'REJECT' }).then(
            (request) => request.status,
            (error: unknown) => (error as Error).constructor.name,
          ),
        ),
      ),
    ]);
    const statuses = await statusOf(ids);
    for (const [index, id] of ids.entries()) {
      const batchWon = batch[index]!.error === null;
      const singleWon = singles[ids.length - 1 - index] === 'REJECTED';
      expect(batchWon !== singleWon, id).toBe(true);
      expect(statuses[id]).toBe(batchWon ? 'APPROVED' : 'REJECTED');
    }
    const decided = await app.deps.db
      .select({ n: count() })
      .from(auditEvents)
      .where(sql`${auditEvents.requestId} in ${ids} and ${auditEvents.type} in ('ACTION_APPROVED', 'ACTION_REJECTED')`);
    expect(decided[0]!.n).toBe(ids.length);
  });

  it('races the sweeper to exactly one final state per request', async () => {
    const ids = await pending(6);
    await app.deps.db
      .update(actionRequests)
      .set({ expiresAt: sql`now() - interval '1 second'` })
      .where(inArray(actionRequests.id, ids));
    const [batch] = await Promise.all([
      decideActions(app.deps, ada, { decisions: ids.map((requestId) => ({ requestId, verdict: 'APPROVE' as const })) }),
      expireOverdueRequests(app.deps),
    ]);
    // The sweeper skips rows a reviewer holds locked; its next pass ends what the batch could not decide.
    await expireOverdueRequests(app.deps);
    const statuses = await statusOf(ids);
    for (const [index, id] of ids.entries()) {
      expect(statuses[id]).toBe(batch[index]!.error ? 'EXPIRED' : 'APPROVED');
      if (batch[index]!.error) expect(batch[index]!.error).toBeInstanceOf(ConflictError);
    }
    const events = await app.deps.db
      .select({ type: auditEvents.type })
      .from(auditEvents)
      .where(sql`${auditEvents.requestId} in ${ids} and ${auditEvents.type} in ('ACTION_APPROVED', 'ACTION_EXPIRED')`);
    expect(events).toHaveLength(ids.length);
  });
});

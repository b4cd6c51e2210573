import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { decideAction } from '../../src/approvals/decide-action.js';
import { requestAction } from '../../src/approvals/request-action.js';
import { listSealedAuditEvents, type AuditEventFilter, type AuditOrder } from '../../src/audit/query.js';
import { sealBatch } from '../../src/audit/seal.js';
import { streamAuditEvents } from '../../src/audit/stream.js';
import type { Principal } from '../../src/auth/roles.js';
import { actionRequests, auditEvents, type AuditEventRow } from '../../src/db/schema.js';
import { publishPolicy } from '../../src/policies/publish.js';
import { insertPrincipalFor, startTestApp } from '../support/services.js';

let app: App;
let stop: () => Promise<void>;
let alpha: Principal;
let beta: Principal;
let reviewer: Principal;

const seal = async () => {
  while ((await sealBatch(app.deps.db, app.deps.auditKeys, { everyEvents: 1_000, everyMs: 3_600_000 })).sealed > 0);
};

/** Every sealed event matching the filter, read page by page in the given order. */
async function pages(filter: AuditEventFilter | null, order: AuditOrder = 'SEQ_ASC', limit = 3): Promise<AuditEventRow[]> {
  const all: AuditEventRow[] = [];
  let afterSeq: number | null = null;
  for (;;) {
    const page = await listSealedAuditEvents(app.deps.db, filter, { afterSeq, limit, order });
    all.push(...page);
    if (page.length < limit) return all;
    afterSeq = page.at(-1)!.seq!;
  }
}

/** The reference answer: every sealed event, filtered in JavaScript with the request joined. */
async function reference(keep: (event: AuditEventRow, request: { action: string; resource: string } | undefined) => boolean) {
  const events = await app.deps.db
    .select()
    .from(auditEvents)
    .where(sql`${auditEvents.seq} IS NOT NULL`)
    .orderBy(asc(auditEvents.seq));
  const requests = new Map((await app.deps.db.select().from(actionRequests)).map((r) => [r.id, r]));
  return events.filter((event) => keep(event, event.requestId ? requests.get(event.requestId) : undefined)).map((e) => e.seq);
}

beforeAll(async () => {
  ({ app, stop } = await startTestApp());
  const admin = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'root', roles: ['ADMIN'] });
  alpha = await insertPrincipalFor(app, { kind: 'AGENT', name: 'alpha', roles: ['AGENT'] });
  beta = await insertPrincipalFor(app, { kind: 'AGENT', name: 'beta', roles: ['AGENT'] });
  reviewer = await insertPrincipalFor(app, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'] });
  await publishPolicy(app.deps, admin, {
    defaultEffect: 'ESCALATE',
    rules: [
      { id: 'staging', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'] },
      { id: 'no-drops', effect: 'BLOCK', actions: ['db.drop'], resources: ['**'] },
    ],
  });
  for (const [agent, action, resource] of [
    [alpha, 'deploy.update', 'staging/api'],
    [alpha, 'deploy.update', 'prod/api'],
    [beta, 'db.drop', 'prod/orders'],
    [beta, 'deploy.rollback', 'prod_x/api'],
    [alpha, 'db.migrate', 'prod/orders'],
    [beta, 'deploy.update', 'staging/web'],
  ] as const) {
    const { request } = await requestAction(app.deps, agent, { action, resource });
    if (request.status === 'PENDING' && resource === 'prod/api')
      await decideAction(app.deps, reviewer, { requestId: request.id, verdict: 'REJECT' });
  }
  await seal();
});

afterAll(async () => {
  await stop?.();
});

describe('auditEvents filters, on the database', () => {
  it.each<[string, AuditEventFilter, (e: AuditEventRow, r: { action: string; resource: string } | undefined) => boolean]>([
    ['agent', { agentId: '$alpha' }, (e) => e.data['agentId'] === alpha.id],
    ['actor', { actorId: '$beta' }, (e) => e.actorId === beta.id],
    ['types', { types: ['ACTION_BLOCKED', 'ACTION_REJECTED'] }, (e) => ['ACTION_BLOCKED', 'ACTION_REJECTED'].includes(e.type)],
    ['action glob', { action: 'deploy.*' }, (_, r) => !!r && r.action.startsWith('deploy.')],
    ['action glob with ?', { action: 'd?.*' }, (_, r) => !!r && /^d.\./.test(r.action)],
    ['resource prefix (LIKE wildcards are literal)', { resourcePrefix: 'prod_' }, (_, r) => !!r && r.resource.startsWith('prod_')],
    ['decision', { decisions: ['APPROVED'] }, (e) => e.data['status'] === 'APPROVED'],
    [
      'agent and action',
      { agentId: '$beta', action: 'deploy.*' },
      (e, r) => e.data['agentId'] === beta.id && !!r && r.action.startsWith('deploy.'),
    ],
  ])('filters by %s, page by page in both orders', async (_name, raw, keep) => {
    const filter = JSON.parse(JSON.stringify(raw).replace('$alpha', alpha.id).replace('$beta', beta.id)) as AuditEventFilter;
    const expected = await reference(keep);
    expect(expected.length).toBeGreaterThan(0);
    expect((await pages(filter)).map((e) => e.seq)).toEqual(expected);
    expect((await pages(filter, 'SEQ_DESC')).map((e) => e.seq)).toEqual([...expected].reverse());
  });

  it('filters by time range', async () => {
    const all = await pages(null, 'SEQ_ASC', 100);
    const middle = all[Math.floor(all.length / 2)]!.createdAt;
    const expected = all.filter((e) => e.createdAt >= middle).map((e) => e.seq);
    expect((await pages({ since: middle })).map((e) => e.seq)).toEqual(expected);
    expect((await pages({ until: middle })).map((e) => e.seq)).toEqual(all.filter((e) => e.createdAt < middle).map((e) => e.seq));
  });
});

describe('the audit stream after a chain position', () => {
  it('replays sealed events after it, then unsealed ones, then goes live — each once', async () => {
    const sealed = await pages(null, 'SEQ_ASC', 100);
    const from = sealed[sealed.length - 3]!.seq!;
    // Two events committed but not sealed yet.
    await requestAction(app.deps, alpha, { action: 'deploy.update', resource: 'staging/unsealed' });
    const iterator = streamAuditEvents(app.deps.db, app.deps.hub, { start: { afterSeq: from } })[Symbol.asyncIterator]();
    const received: AuditEventRow[] = [];
    for (let i = 0; i < 4; i++) received.push((await iterator.next()).value);
    expect(received.slice(0, 2).map((e) => e.seq)).toEqual([from + 1, from + 2]);
    expect(received.slice(2).map((e) => [e.seq, e.type])).toEqual([
      [null, 'ACTION_REQUESTED'],
      [null, 'ACTION_APPROVED'],
    ]);
    // Live, with the action filter applied in memory.
    await requestAction(app.deps, beta, { action: 'deploy.update', resource: 'staging/live' });
    expect((await iterator.next()).value).toMatchObject({ type: 'ACTION_REQUESTED', data: { resource: 'staging/live' } });
    await iterator.return?.();
  });

  it('applies action and resource filters to live events too', async () => {
    const iterator = streamAuditEvents(app.deps.db, app.deps.hub, {
      start: null,
      filter: { action: 'deploy.*', resourcePrefix: 'staging/' },
    })[Symbol.asyncIterator]();
    const next = iterator.next();
    await requestAction(app.deps, alpha, { action: 'db.migrate', resource: 'staging/skip' });
    await requestAction(app.deps, alpha, { action: 'deploy.update', resource: 'prod/skip' });
    const { request } = await requestAction(app.deps, alpha, { action: 'deploy.update', resource: 'staging/keep' });
    expect((await next).value).toMatchObject({ type: 'ACTION_REQUESTED', requestId: request.id });
    expect((await iterator.next()).value).toMatchObject({ type: 'ACTION_APPROVED', requestId: request.id });
    await iterator.return?.();
  });
});

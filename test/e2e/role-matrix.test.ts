import { count } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { getNamedType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { actionRequests, auditEvents, delegations, policyVersions, principals, tokens } from '../../src/db/schema.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, publishPolicy, requestAction, type Actor } from '../support/fixtures.js';

// Every root field × every kind of caller: each call is allowed, or gets a typed denial with
// nothing written, and no other principal's data leaks through what a denied or restricted
// caller sees. A root field added to the schema without a row here fails the first test.

const CALLERS = ['anonymous', 'agent', 'otherAgent', 'outsider', 'insider', 'auditor', 'admin', 'disabled', 'expired', 'revoked'] as const;
type Caller = (typeof CALLERS)[number];
const AUTHENTICATED: Caller[] = ['agent', 'otherAgent', 'outsider', 'insider', 'auditor', 'admin'];
const HUMANS: Caller[] = ['outsider', 'insider', 'auditor', 'admin'];
/** Payload errors that say "not yours to do" (the others, e.g. ConflictError, mean the call was let in). */
const DENIALS = new Set(['NotAllowedError', 'NotFoundError', 'SeparationOfDutiesError']);

let server: TestServer;
const token = {} as Record<Caller, string | null>;
const actor = {} as Record<Caller, Actor>;
let pending: string; // the agent's PENDING request, reviewable by group sre
let approved: string; // the agent's APPROVED request
let opsRequest: string; // the agent's PENDING request for group ops
let spareToken: string; // another token of the agent
let delegation: string; // granted by insider to the agent
let target: string; // a principal only the ADMIN's mutations touch
let replayCursor: string; // a stream position before the requests above
let webhook: string; // an ADMIN's webhook (to a public address, for an event the matrix never causes)
let doomedWebhook: string; // another, for deleteWebhook

interface Row {
  /** Query.x, Mutation.x or Subscription.x */
  field: string;
  document: string;
  variables?: (caller: Caller) => Record<string, unknown>;
  allowed: Caller[];
  /** What an allowed caller must (not) see: leaks are checked here. */
  check?: (caller: Caller, data: any) => void;
}

const ROWS: Row[] = [
  { field: 'Query.viewer', document: '{ viewer { id } }', allowed: [...CALLERS] },
  {
    field: 'Query.actionRequest',
    document: 'query($id: ID!) { actionRequest(id: $id) { id agent { id name groups labels } } }',
    variables: () => ({ id: pending }),
    allowed: AUTHENTICATED,
    check: (caller, data) => {
      const sees = ['agent', 'insider', 'auditor', 'admin'].includes(caller);
      expect(data.actionRequest?.id ?? null).toBe(sees ? pending : null);
    },
  },
  {
    field: 'Query.actionRequests',
    document: '{ actionRequests(first: 100) { edges { node { id } } } }',
    allowed: AUTHENTICATED,
    check: (caller, data) => {
      const ids = data.actionRequests.edges.map((e: { node: { id: string } }) => e.node.id);
      if (caller === 'otherAgent' || caller === 'outsider') expect(ids).not.toContain(pending);
      if (caller === 'outsider') expect(ids).toContain(opsRequest);
    },
  },
  {
    field: 'Query.pendingApprovals',
    document: '{ pendingApprovals(first: 100) { edges { node { id } } } }',
    allowed: ['outsider', 'insider'],
    check: (caller, data) => {
      const ids = data.pendingApprovals.edges.map((e: { node: { id: string } }) => e.node.id);
      expect(ids.includes(pending)).toBe(caller === 'insider');
      expect(ids.includes(opsRequest)).toBe(caller === 'outsider');
    },
  },
  { field: 'Query.auditEvents', document: '{ auditEvents(first: 5) { edges { node { id } } } }', allowed: ['auditor', 'admin'] },
  { field: 'Query.activePolicy', document: '{ activePolicy { version } }', allowed: AUTHENTICATED },
  {
    field: 'Query.policyVersions',
    document: '{ policyVersions { edges { node { version rules { id } } } } }',
    allowed: ['auditor', 'admin'],
  },
  {
    field: 'Query.simulateAction',
    document: 'query($i: SimulateActionInput!) { simulateAction(input: $i) { effect } }',
    variables: (caller) => ({
      i: { action: 'deploy.update', resource: 'prod/api', ...(caller === 'admin' ? { agentId: actor.agent.id } : {}) },
    }),
    allowed: ['agent', 'otherAgent', 'admin'],
  },
  { field: 'Query.replayPolicy', document: '{ replayPolicy(input: { rules: [] }) { evaluated } }', allowed: ['auditor', 'admin'] },
  { field: 'Query.verifyAuditLog', document: '{ verifyAuditLog { ok } }', allowed: ['auditor', 'admin'] },
  { field: 'Query.principals', document: '{ principals { edges { node { id } } } }', allowed: ['admin'] },
  {
    field: 'Query.principal',
    document: 'query($id: ID!) { principal(id: $id) { id } }',
    variables: () => ({ id: target }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.requestAction',
    document:
      'mutation { requestAction(input: { action: "read.logs", resource: "dev/x" }) { request { id } errors { __typename message } } }',
    allowed: ['agent', 'otherAgent'],
  },
  {
    field: 'Mutation.decideAction',
    document:
      'mutation($id: ID!) { decideAction(input: { requestId: $id, verdict: APPROVE }) { request { id } errors { __typename message } } }',
    variables: () => ({ id: pending }),
    allowed: ['insider'],
  },
  {
    field: 'Mutation.extendActionRequest',
    document:
      'mutation($id: ID!) { extendActionRequest(input: { requestId: $id, bySeconds: 60 }) { request { id } errors { __typename message } } }',
    variables: () => ({ id: opsRequest }),
    allowed: ['outsider'],
  },
  {
    field: 'Mutation.overrideDecision',
    document:
      'mutation($id: ID!) { overrideDecision(input: { requestId: $id, verdict: REJECT, reason: "matrix" }) { request { id } errors { __typename message } } }',
    variables: () => ({ id: opsRequest }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.cancelActionRequest',
    document: 'mutation($id: ID!) { cancelActionRequest(input: { requestId: $id }) { request { id } errors { __typename message } } }',
    variables: () => ({ id: pending }),
    allowed: ['agent'],
  },
  {
    field: 'Mutation.reportActionOutcome',
    document:
      'mutation($id: ID!) { reportActionOutcome(input: { requestId: $id, outcome: SUCCEEDED }) { request { id } errors { __typename message } } }',
    variables: () => ({ id: approved }),
    allowed: ['agent'],
  },
  {
    field: 'Mutation.decideActions',
    document:
      'mutation($id: ID!) { decideActions(input: { decisions: [{ requestId: $id, verdict: APPROVE }] }) { results { request { id } errors { __typename message } } errors { __typename message } } }',
    variables: () => ({ id: opsRequest }),
    allowed: AUTHENTICATED,
    // Each item answers like decideAction: nobody here may decide the ops request (a denial, or a
    // conflict once the admin's override has decided it), so no item ever succeeds.
    check: (_caller, data) => {
      const [result] = data.decideActions.results;
      expect(result.request).toBeNull();
      expect(result.errors).toHaveLength(1);
    },
  },
  {
    field: 'Query.standingApprovals',
    document: '{ standingApprovals(includeEnded: true) { id reviewer { id } } }',
    allowed: AUTHENTICATED,
    // Nobody here granted one: each caller sees only its own (an ADMIN all), so every list is empty.
    check: (_caller, data) => expect(data.standingApprovals).toEqual([]),
  },
  {
    field: 'Mutation.revokeStandingApproval',
    document:
      'mutation { revokeStandingApproval(input: { standingApprovalId: "00000000-0000-4000-8000-000000000000" }) { standingApproval { id } errors { __typename message } } }',
    // A standing approval none of them granted: everyone is told it does not exist.
    allowed: [],
  },
  {
    field: 'Mutation.redeemReceipt',
    document: 'mutation { redeemReceipt(input: { receipt: "not.a.receipt" }) { redemption { requestId } errors { __typename message } } }',
    allowed: AUTHENTICATED,
    check: (_caller, data) => expect(data.redeemReceipt.errors[0].__typename).toBe('InvalidReceiptError'),
  },
  {
    field: 'Mutation.createPrincipal',
    document:
      'mutation { createPrincipal(input: { kind: AGENT, name: "made-in-matrix", roles: [AGENT] }) { principal { id } errors { __typename message } } }',
    allowed: ['admin'],
  },
  {
    field: 'Mutation.updatePrincipal',
    document:
      'mutation($id: ID!) { updatePrincipal(input: { principalId: $id, labels: { touched: "yes" } }) { principal { id } errors { __typename message } } }',
    variables: () => ({ id: target }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.disablePrincipal',
    document: 'mutation($id: ID!) { disablePrincipal(input: { principalId: $id }) { principal { id } errors { __typename message } } }',
    variables: () => ({ id: target }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.enablePrincipal',
    document: 'mutation($id: ID!) { enablePrincipal(input: { principalId: $id }) { principal { id } errors { __typename message } } }',
    variables: () => ({ id: target }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.issueToken',
    document: 'mutation { issueToken(input: { name: "matrix" }) { token { id } errors { __typename message } } }',
    allowed: AUTHENTICATED,
  },
  {
    field: 'Mutation.revokeToken',
    document: 'mutation($id: ID!) { revokeToken(input: { tokenId: $id }) { token { id } errors { __typename message } } }',
    variables: () => ({ id: spareToken }),
    allowed: ['agent', 'admin'],
  },
  {
    field: 'Mutation.grantDelegation',
    document:
      'mutation($id: ID!) { grantDelegation(input: { agentId: $id, actions: ["matrix.*"] }) { delegation { id } errors { __typename message } } }',
    variables: () => ({ id: actor.agent.id }),
    allowed: HUMANS,
  },
  {
    field: 'Mutation.revokeDelegation',
    document: 'mutation($id: ID!) { revokeDelegation(input: { delegationId: $id }) { delegation { id } errors { __typename message } } }',
    variables: () => ({ id: delegation }),
    allowed: ['insider', 'admin'],
  },
  {
    field: 'Query.webhooks',
    document: '{ webhooks { id url } }',
    allowed: ['admin'],
    check: (_caller, data) => expect(data.webhooks.map((w: { id: string }) => w.id)).toContain(webhook),
  },
  {
    field: 'Query.webhookDeliveries',
    document: 'query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { node { id } } } }',
    variables: () => ({ id: webhook }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.createWebhook',
    document:
      'mutation { createWebhook(input: { url: "https://8.8.4.4/matrix", events: ["action.expired"] }) { webhook { id } secret errors { __typename message } } }',
    allowed: ['admin'],
  },
  {
    field: 'Mutation.updateWebhook',
    document:
      'mutation($id: ID!) { updateWebhook(input: { webhookId: $id, description: "touched" }) { webhook { id } errors { __typename message } } }',
    variables: () => ({ id: webhook }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.rotateWebhookSecret',
    document:
      'mutation($id: ID!) { rotateWebhookSecret(input: { webhookId: $id }) { webhook { id } secret errors { __typename message } } }',
    variables: () => ({ id: webhook }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.deleteWebhook',
    document: 'mutation($id: ID!) { deleteWebhook(webhookId: $id) { webhook { id } errors { __typename message } } }',
    variables: () => ({ id: doomedWebhook }),
    allowed: ['admin'],
  },
  {
    field: 'Mutation.redeliverWebhook',
    document:
      'mutation { redeliverWebhook(deliveryId: "00000000-0000-4000-8000-000000000000") { delivery { id } errors { __typename message } } }',
    // No such delivery: everyone is told so (the ADMIN by a NotFoundError, the others are not allowed).
    allowed: [],
  },
  {
    field: 'Mutation.publishPolicy',
    document: 'mutation { publishPolicy(input: { rules: [] }) { policy { version } errors { __typename message } } }',
    allowed: ['admin'],
  },
  {
    field: 'Mutation.activatePolicyVersion',
    document: 'mutation { activatePolicyVersion(input: { version: 1 }) { policy { version } errors { __typename message } } }',
    allowed: ['admin'],
  },
];

interface SubscriptionRow {
  field: string;
  document: string;
  variables: () => Record<string, unknown>;
  allowed: Caller[];
  /** The first event an allowed caller gets. */
  check: (caller: Caller, data: any) => void;
}

const SUBSCRIPTIONS: SubscriptionRow[] = [
  {
    field: 'Subscription.pendingApprovals',
    document: 'subscription($after: String) { pendingApprovals(after: $after) { kind request { id } } }',
    variables: () => ({ after: replayCursor }),
    allowed: ['outsider', 'insider'],
    check: (caller, data) => expect(data.pendingApprovals.request.id).toBe(caller === 'insider' ? pending : opsRequest),
  },
  {
    field: 'Subscription.actionDecided',
    document: 'subscription($id: ID) { actionDecided(requestId: $id) { id status } }',
    variables: () => ({ id: approved }),
    // Decided by the policy, the request has no reviewers: its agent, auditors and admins see it.
    allowed: ['agent', 'auditor', 'admin'],
    check: (_caller, data) => expect(data.actionDecided).toEqual({ id: approved, status: 'APPROVED' }),
  },
  {
    field: 'Subscription.auditEvents',
    document: 'subscription($after: String) { auditEvents(after: $after) { id type } }',
    variables: () => ({ after: replayCursor }),
    allowed: ['auditor', 'admin'],
    check: (_caller, data) => expect(data.auditEvents.type).toBe('ACTION_REQUESTED'),
  },
];

const snapshot = async () => {
  const db = server.app.deps.db;
  const n = async (table: PgTable) => (await db.select({ n: count() }).from(table))[0]!.n;
  return {
    requests: await n(actionRequests),
    principals: await n(principals),
    tokens: await n(tokens),
    delegations: await n(delegations),
    policies: await n(policyVersions),
    events: await n(auditEvents),
  };
};

beforeAll(async () => {
  server = await startTestServer();
  await publishPolicy(server, [
    { id: 'prod', effect: 'ESCALATE', actions: ['deploy.*'], resources: ['prod/**'], review: { groups: ['sre'] } },
    { id: 'ops', effect: 'ESCALATE', actions: ['ops.*'], resources: ['**'], review: { groups: ['ops'] } },
    { id: 'rest', effect: 'ALLOW', actions: ['**'], resources: ['**'] },
  ]);
  actor.agent = await createActor(server, { kind: 'AGENT', name: 'matrix-agent', roles: ['AGENT'], labels: { secret: 'agent-label' } });
  actor.otherAgent = await createActor(server, { kind: 'AGENT', name: 'matrix-other', roles: ['AGENT'] });
  actor.outsider = await createActor(server, { kind: 'HUMAN', name: 'matrix-outsider', roles: ['REVIEWER'], groups: ['ops'] });
  actor.insider = await createActor(server, { kind: 'HUMAN', name: 'matrix-insider', roles: ['REVIEWER'], groups: ['sre'] });
  actor.auditor = await createActor(server, { kind: 'HUMAN', name: 'matrix-auditor', roles: ['AUDITOR'] });
  actor.disabled = await createActor(server, { kind: 'AGENT', name: 'matrix-disabled', roles: ['AGENT'] });
  const admin = (await server.gql(ADMIN_TOKEN, '{ viewer { id } }')).data.viewer.id;
  actor.admin = { id: admin, token: ADMIN_TOKEN };
  target = (await createActor(server, { kind: 'AGENT', name: 'matrix-target', roles: ['AGENT'] })).id;
  const createWebhook = async () =>
    (
      await server.gql(
        ADMIN_TOKEN,
        'mutation { createWebhook(input: { url: "https://8.8.8.8/matrix", events: ["action.expired"] }) { webhook { id } errors { __typename message } } }',
      )
    ).data.createWebhook.webhook.id as string;
  webhook = await createWebhook();
  doomedWebhook = await createWebhook();
  for (const caller of ['agent', 'otherAgent', 'outsider', 'insider', 'auditor', 'admin', 'disabled'] as const)
    token[caller] = actor[caller].token;
  token.anonymous = null;

  replayCursor = (await server.gql(token.insider, '{ pendingApprovals { streamCursor } }')).data.pendingApprovals.streamCursor;
  pending = (await requestAction(server, token.agent!, { action: 'deploy.update', resource: 'prod/api' })).data.requestAction.request.id;
  opsRequest = (await requestAction(server, token.agent!, { action: 'ops.restart', resource: 'db/1' })).data.requestAction.request.id;
  approved = (await requestAction(server, token.agent!, { action: 'read.logs', resource: 'dev/api' })).data.requestAction.request.id;

  const issue = async (name: string, expiresAt?: string) =>
    (
      await server.gql(token.agent!, 'mutation($i: IssueTokenInput!) { issueToken(input: $i) { secret token { id } } }', {
        i: { name, expiresAt },
      })
    ).data.issueToken;
  spareToken = (await issue('spare')).token.id;
  const revoked = await issue('to-revoke');
  await server.gql(token.agent!, 'mutation($id: ID!) { revokeToken(input: { tokenId: $id }) { errors { message } } }', {
    id: revoked.token.id,
  });
  token.revoked = revoked.secret;
  const expiring = await issue('to-expire', new Date(Date.now() + 1_000).toISOString());
  token.expired = expiring.secret;
  await server.gql(ADMIN_TOKEN, 'mutation($id: ID!) { disablePrincipal(input: { principalId: $id }) { errors { message } } }', {
    id: actor.disabled.id,
  });
  delegation = (
    await server.gql(
      token.insider!,
      'mutation($id: ID!) { grantDelegation(input: { agentId: $id, actions: ["deploy.*"] }) { delegation { id } } }',
      {
        id: actor.agent.id,
      },
    )
  ).data.grantDelegation.delegation.id;
  // The expiring token has expired once the server refuses it.
  await vi.waitFor(
    async () =>
      expect((await server.gql(token.expired, '{ actionRequests { edges { cursor } } }')).errors?.[0]?.extensions?.['code']).toBe(
        'UNAUTHENTICATED',
      ),
    { timeout: 10_000 },
  );
});

afterAll(async () => {
  await server?.stop();
});

/** Names and ids of principals other than `caller`, which a denial must never show. */
const othersOf = (caller: Caller) =>
  (['agent', 'otherAgent', 'outsider', 'insider', 'auditor'] as const)
    .filter((c) => c !== caller)
    .flatMap((c) => [actor[c].id, `matrix-${c === 'otherAgent' ? 'other' : c}`]);

function denial(result: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] }, field: string): string | null {
  const code = result.errors?.find((error) => ['FORBIDDEN', 'UNAUTHENTICATED', 'NOT_FOUND'].includes(error.extensions?.code ?? ''))
    ?.extensions?.code;
  if (code) return code;
  const payload = result.data?.[field];
  const typename = payload?.errors?.find((error: { __typename: string }) => DENIALS.has(error.__typename))?.__typename;
  return typename ?? null;
}

describe('the role matrix', () => {
  it('has a row for every root field of the schema', () => {
    const schema = buildSchema();
    const fields = (['Query', 'Mutation', 'Subscription'] as const).flatMap((type) => {
      const root = schema.getType(type);
      return root && isObjectType(getNamedType(root)) ? Object.keys((root as any).getFields()).map((name) => `${type}.${name}`) : [];
    });
    expect(new Set([...ROWS, ...SUBSCRIPTIONS].map((row) => row.field))).toEqual(new Set(fields));
  });

  // Denied callers first: an allowed mutation changes state the denials are checked against.
  const ordered = (row: Row) => [...CALLERS].sort((a, b) => Number(row.allowed.includes(a)) - Number(row.allowed.includes(b)));

  it.each(ROWS.map((row) => [row.field, row] as const))(
    '%s: allowed callers pass, the others get a typed denial and write nothing',
    async (_field, row) => {
      const name = row.field.split('.')[1]!;
      for (const caller of ordered(row)) {
        const before = await snapshot();
        const result = await server.gql(token[caller], row.document, row.variables?.(caller));
        const denied = denial(result, name);
        const text = JSON.stringify(result);
        expect(text, `${row.field} as ${caller}`).not.toContain('Unexpected error.');
        if (row.allowed.includes(caller)) {
          expect(denied, `${row.field} as ${caller}: ${text}`).toBeNull();
          if (name === 'viewer')
            expect(result.data.viewer?.id ?? null).toBe(
              ['anonymous', 'disabled', 'expired', 'revoked'].includes(caller) ? null : actor[caller].id,
            );
          row.check?.(caller, result.data);
        } else {
          expect(denied, `${row.field} as ${caller}: ${text}`).not.toBeNull();
          const after = await snapshot();
          // A party's refused review stays on record (REVIEW_REFUSED), as the review workflow says.
          const refusalRecorded = denied === 'SeparationOfDutiesError' ? 1 : 0;
          expect(after, `${row.field} as ${caller} wrote something`).toEqual({ ...before, events: before.events + refusalRecorded });
          for (const other of othersOf(caller)) expect(text, `${row.field} as ${caller} shows ${other}`).not.toContain(other);
        }
      }
    },
  );

  it.each(SUBSCRIPTIONS.map((row) => [row.field, row] as const))(
    '%s: allowed callers get their first event, the others a typed denial',
    async (_field, row) => {
      for (const caller of CALLERS) {
        const iterator = server.ws(token[caller]).iterate({ query: row.document, variables: row.variables() });
        type Result = { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
        const first: Result = await iterator.next().then(
          (result) => result.value as Result,
          // An operation's `error` message ends the iteration with its errors; a socket refused at
          // connection_init (4403), with its close event.
          (failure: unknown): Result =>
            Array.isArray(failure)
              ? { errors: failure }
              : {
                  errors: [
                    {
                      message: `closed ${(failure as { code?: number }).code}`,
                      extensions: { code: (failure as { code?: number }).code === 4403 ? 'UNAUTHENTICATED' : 'CLOSED' },
                    },
                  ],
                },
        );
        await iterator.return?.();
        const text = JSON.stringify(first);
        if (row.allowed.includes(caller)) {
          expect(first.errors, `${row.field} as ${caller}: ${text}`).toBeUndefined();
          row.check(caller, first.data);
        } else {
          expect(denial(first, row.field.split('.')[1]!), `${row.field} as ${caller}: ${text}`).not.toBeNull();
          for (const other of othersOf(caller)) expect(text).not.toContain(other);
        }
      }
    },
  );
});

import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JSONWebKeySet } from 'jose';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { actionRequests } from '../../src/db/schema.js';
import { eq, sql } from 'drizzle-orm';
import {
  ActionAlreadyPerformedError,
  ActionBlockedError,
  ActionCancelledError,
  ActionExpiredError,
  ActionPendingError,
  ActionRejectedError,
  createGreenlightClient,
  GreenlightError,
  paramsSha256,
  ReceiptVerificationError,
  verifyReceipt,
  type GreenlightClient,
  type GreenlightClientOptions,
} from '../../src/client/node.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, decideAction, nextPendingRequest, type Actor } from '../support/fixtures.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const run = promisify(execFile);

let server: TestServer;
let agent: Actor;
let reviewer: Actor;
const clients: GreenlightClient[] = [];

beforeAll(async () => {
  server = await startTestServer({ sweepIntervalMs: 100 });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  const published = await server.gql(
    ADMIN_TOKEN,
    'mutation($input: PublishPolicyInput!) { publishPolicy(input: $input) { errors { __typename message } } }',
    {
      input: {
        defaultEffect: 'ESCALATE',
        // The agent is shown markers for these values; the SDK gives the action the agent's own.
        redact: ['params.password'],
        rules: [
          { id: 'allow-staging', effect: 'ALLOW', actions: ['deploy.*'], resources: ['staging/**'] },
          { id: 'no-deletes', effect: 'BLOCK', actions: ['*.delete'], resources: ['**'], reason: 'Deletes are never automatic.' },
          {
            id: 'quick-review',
            effect: 'ESCALATE',
            actions: ['flag.*'],
            resources: ['**'],
            review: { groups: ['sre'], timeoutSeconds: 1 },
          },
          {
            id: 'review-prod',
            effect: 'ESCALATE',
            actions: ['deploy.*'],
            resources: ['prod/**'],
            review: { groups: ['sre'] },
            allowAmend: true,
          },
        ],
      },
    },
  );
  expect(published.data.publishPolicy.errors).toEqual([]);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await server?.stop();
});

function client(options: Partial<GreenlightClientOptions> = {}): GreenlightClient {
  const created = createGreenlightClient({ url: server.url, token: agent.token, ...options });
  clients.push(created);
  return created;
}

const nextPending = () => nextPendingRequest(server, reviewer.token);

async function outcomeOf(requestId: string) {
  const result = await server.gql(agent.token, 'query($id: ID!) { actionRequest(id: $id) { status outcome outcomeDetail } }', {
    id: requestId,
  });
  return result.data.actionRequest;
}

describe('the TypeScript SDK against a live server', () => {
  it('ALLOW: guard runs the action with the approved params, reports SUCCEEDED, and hands over a receipt', async () => {
    const sdk = client();
    let seen: { params: unknown; receipt: string | null; id: string } | undefined;
    const result = await sdk.guard(
      { action: 'deploy.update', resource: 'staging/api', params: { version: '1.0.0' } },
      (params, decision) => {
        seen = { params, receipt: decision.receipt, id: decision.requestId };
        return 'deployed';
      },
    );
    expect(result).toBe('deployed');
    expect(seen!.params).toEqual({ version: '1.0.0' });
    expect(await outcomeOf(seen!.id)).toEqual({ status: 'APPROVED', outcome: 'SUCCEEDED', outcomeDetail: null });
    const claims = await sdk.verifyReceipt(seen!.receipt!, {
      action: 'deploy.update',
      resource: 'staging/api',
      params: { version: '1.0.0' },
    });
    expect(claims).toMatchObject({ request_id: seen!.id, sub: agent.id, approvers: [] });
  });

  it('BLOCK: guard never runs the action and throws ActionBlockedError with a line for the model', async () => {
    const sdk = client();
    let ran = false;
    const error = await sdk
      .guard({ action: 'db.delete', resource: 'prod/db' }, () => {
        ran = true;
      })
      .catch((caught: unknown) => caught);
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(ActionBlockedError);
    const blocked = error as ActionBlockedError;
    expect(blocked.reason).toBe('Deletes are never automatic.');
    expect(blocked.request.status).toBe('BLOCKED');
    expect(blocked.modelMessage).toMatch(
      /^Blocked by the policy: db\.delete on prod\/db .* Do not retry the same request unless something changed/,
    );
    expect(blocked.modelMessage).toContain('Deletes are never automatic.');
    expect(blocked.modelMessage).not.toContain('\n');
  });

  it('ESCALATE then approve with changes: guard waits, runs with the approved params; a failing action is reported FAILED', async () => {
    const sdk = client();
    const pending = await nextPending();
    let received: unknown;
    const guarded = sdk.guard({ action: 'deploy.update', resource: 'prod/api', params: { version: '2.0.0' } }, (params) => {
      received = params;
      throw new Error('rollout failed: 2 of 3 pods crashed');
    });
    guarded.catch(() => {});
    const id = await pending();
    const decided = await decideAction(server, reviewer.token, { requestId: id, verdict: 'APPROVE', params: { version: '2.1.0' } });
    expect(decided.data.decideAction.errors).toEqual([]);
    await expect(guarded).rejects.toThrow('rollout failed: 2 of 3 pods crashed');
    expect(received).toEqual({ version: '2.1.0' });
    expect(await outcomeOf(id)).toEqual({ status: 'APPROVED', outcome: 'FAILED', outcomeDetail: 'rollout failed: 2 of 3 pods crashed' });
  });

  it('REJECT: ActionRejectedError carries the comment, the reviewer and the request', async () => {
    const sdk = client();
    const pending = await nextPending();
    const guarded = sdk.guard({ action: 'deploy.update', resource: 'prod/api' }, () => 'never');
    guarded.catch(() => {});
    const id = await pending();
    await decideAction(server, reviewer.token, { requestId: id, verdict: 'REJECT', comment: 'Freeze until Monday.' });
    const error = (await guarded.catch((caught: unknown) => caught)) as ActionRejectedError;
    expect(error).toBeInstanceOf(ActionRejectedError);
    expect(error.reason).toBe('Freeze until Monday.');
    expect(error.request).toMatchObject({ id, status: 'REJECTED', decidedBy: 'REVIEWER', decider: { name: 'Ada' } });
    expect(error.modelMessage).toContain('Rejected by reviewer Ada');
    expect(error.modelMessage).toContain('Freeze until Monday.');
    expect(error.modelMessage).toContain('Do not ask again unchanged');
  });

  it('EXPIRE: nobody decides; ActionExpiredError says it is not a denial', async () => {
    const error = (await client()
      .guard({ action: 'flag.toggle', resource: 'checkout' }, () => 'never')
      .catch((caught: unknown) => caught)) as ActionExpiredError;
    expect(error).toBeInstanceOf(ActionExpiredError);
    expect(error.request.status).toBe('EXPIRED');
    expect(error.modelMessage).toContain('This is not a denial; ask again');
  });

  it('CANCEL: interrupt mode answers PENDING at once; a cancelled request throws ActionCancelledError on resume', async () => {
    const sdk = client({ mode: 'interrupt' });
    const decision = await sdk.requestAction({ action: 'deploy.update', resource: 'prod/web' });
    expect(decision.status).toBe('PENDING');
    expect(decision.modelMessage).toContain(`request id ${decision.requestId}`);
    await expect(sdk.resume(decision.requestId, () => 'never')).rejects.toBeInstanceOf(ActionPendingError);
    const cancelled = await sdk.cancel(decision.requestId, 'No longer needed.');
    expect(cancelled).toMatchObject({ status: 'CANCELLED', reason: 'No longer needed.' });
    const error = (await sdk.resume(decision.requestId, () => 'never').catch((caught: unknown) => caught)) as ActionCancelledError;
    expect(error).toBeInstanceOf(ActionCancelledError);
    expect(error.modelMessage).toContain('Cancelled by the requesting agent');
  });

  it('interrupt mode resumes in another process, from the request id alone, with the compiled package', async () => {
    const decision = await client({ mode: 'interrupt' }).requestAction({ action: 'deploy.update', resource: 'prod/db', params: { n: 1 } });
    await decideAction(server, reviewer.token, { requestId: decision.requestId, verdict: 'APPROVE' });
    const script = `
      import { createGreenlightClient } from 'greenlight/client';
      const sdk = createGreenlightClient({ url: process.env.URL, token: process.env.TOKEN, mode: 'interrupt' });
      const result = await sdk.resume(process.env.REQUEST_ID, (params, decision) => ({ params, status: decision.status, hasReceipt: !!decision.receipt }));
      await sdk.close();
      console.log(JSON.stringify(result));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, URL: server.url, TOKEN: agent.token, REQUEST_ID: decision.requestId },
    });
    expect(JSON.parse(stdout)).toEqual({ params: { n: 1 }, status: 'APPROVED', hasReceipt: true });
    expect((await outcomeOf(decision.requestId)).outcome).toBe('SUCCEEDED');
  });

  it('waitForDecision survives the server closing every socket mid-wait and still returns the decision', async () => {
    const proxy = await startTcpProxy(Number(new URL(server.url).port));
    try {
      // WebSockets go through the proxy; plain HTTP goes straight to the server.
      const sdk = client({ url: proxy.url, fetch: (input, init) => fetch(String(input).replace(proxy.url, server.url), init) });
      const pending = await sdk.requestAction({ action: 'deploy.update', resource: 'prod/queue' }, { timeoutMs: 0 });
      expect(pending.status).toBe('PENDING');
      const waiting = sdk.waitForDecision(pending.requestId);
      await proxy.seen('connection_ack');
      proxy.cutAll();
      // Decided while no socket is open: the resubscription must still deliver it.
      await decideAction(server, reviewer.token, { requestId: pending.requestId, verdict: 'APPROVE', comment: 'ok' });
      const decided = await waiting;
      expect(decided).toMatchObject({ status: 'APPROVED', requestId: pending.requestId, reason: 'ok' });
      expect(decided.receipt).toEqual(expect.any(String));
      expect(proxy.connections()).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  });

  it('falls back to polling when WebSockets are unavailable, and resolves at once when already decided', async () => {
    const sdk = client({ webSocketImpl: null, pollIntervalMs: 50 });
    const pending = await sdk.requestAction({ action: 'deploy.update', resource: 'prod/cache' }, { timeoutMs: 0 });
    const waiting = sdk.waitForDecision(pending.requestId);
    await decideAction(server, reviewer.token, { requestId: pending.requestId, verdict: 'REJECT', comment: 'no' });
    expect(await waiting).toMatchObject({ status: 'REJECTED', reason: 'no' });
    expect(await sdk.waitForDecision(pending.requestId)).toMatchObject({ status: 'REJECTED' });
  });

  it('gives up a wait at its timeout with the request still PENDING, and honours an abort signal', async () => {
    const sdk = client();
    const pending = await sdk.requestAction({ action: 'deploy.update', resource: 'prod/search' }, { timeoutMs: 0 });
    expect(pending.status).toBe('PENDING');
    expect((await sdk.waitForDecision(pending.requestId, { timeoutMs: 50 })).status).toBe('PENDING');
    const controller = new AbortController();
    const waiting = sdk.waitForDecision(pending.requestId, { signal: controller.signal });
    controller.abort(new Error('the run was stopped'));
    await expect(waiting).rejects.toThrow('the run was stopped');
  });

  it('runs an approval once: a used approval throws ActionAlreadyPerformedError, a closed window ActionExpiredError', async () => {
    const sdk = client({ mode: 'interrupt' });
    const decision = await sdk.requestAction({ action: 'deploy.update', resource: 'staging/once' });
    let runs = 0;
    await sdk.resume(decision.requestId, () => (runs += 1));
    const again = (await sdk
      .resume(decision.requestId, () => (runs += 1))
      .catch((caught: unknown) => caught)) as ActionAlreadyPerformedError;
    expect(again).toBeInstanceOf(ActionAlreadyPerformedError);
    expect(again.modelMessage).toContain('Already performed');
    expect(runs).toBe(1);

    const late = await sdk.requestAction({ action: 'deploy.update', resource: 'staging/late' });
    await server.app.deps.db
      .update(actionRequests)
      .set({ validUntil: sql`now() - interval '1 second'` })
      .where(eq(actionRequests.id, late.requestId));
    const closed = (await sdk.resume(late.requestId, () => (runs += 1)).catch((caught: unknown) => caught)) as ActionExpiredError;
    expect(closed).toBeInstanceOf(ActionExpiredError);
    expect(closed.modelMessage).toContain('closed at');
    expect(runs).toBe(1);
  });

  it('hands the action its own values where the policy redacts them, and asks for them when resuming without', async () => {
    const sdk = client({ mode: 'interrupt' });
    const params = { user: 'svc', password: 's3cret' };
    let seen: unknown;
    await sdk.guard({ action: 'deploy.update', resource: 'staging/db', params }, (approved, decision) => {
      seen = approved;
      expect(decision.approvedParams?.['password']).toMatch(/^\[redacted:hmac-sha256:/);
    });
    expect(seen).toEqual(params);

    const later = await sdk.requestAction({ action: 'deploy.update', resource: 'staging/db2', params });
    const missing = (await sdk.resume(later.requestId, () => 'never').catch((caught: unknown) => caught)) as GreenlightError;
    expect(missing.code).toBe('REDACTED_PARAMS');
    expect(await sdk.resume(later.requestId, (approved) => approved, { params })).toEqual(params);
  });

  it('keeps polling through network failures, and names the request when a wait fails for good', async () => {
    let calls = 0;
    const flaky: typeof fetch = (input, init) => {
      calls += 1;
      // The 2nd and 3rd calls (the first polls) fail as a dropped connection would.
      return calls === 2 || calls === 3 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init);
    };
    const sdk = client({ webSocketImpl: null, pollIntervalMs: 20, fetch: flaky });
    const pending = await sdk.requestAction({ action: 'deploy.update', resource: 'prod/flaky' }, { timeoutMs: 0 });
    const waiting = sdk.waitForDecision(pending.requestId);
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(4));
    await decideAction(server, reviewer.token, { requestId: pending.requestId, verdict: 'APPROVE' });
    expect((await waiting).status).toBe('APPROVED');

    const revoked = client({
      webSocketImpl: null,
      pollIntervalMs: 20,
      token: agent.token,
      fetch: (input, init) =>
        String(init?.body).includes('actionRequest(id')
          ? Promise.resolve(
              new Response('{"errors":[{"message":"nope","extensions":{"code":"FORBIDDEN"}}]}', {
                status: 200,
                headers: { 'content-type': 'application/json' },
              }),
            )
          : fetch(input, init),
    });
    const failed = (await revoked
      .requestAction({ action: 'deploy.update', resource: 'prod/gone' })
      .catch((caught: unknown) => caught)) as GreenlightError;
    expect(failed).toBeInstanceOf(GreenlightError);
    expect(failed.details['requestId']).toEqual(expect.any(String));
  });

  it('reports bad input and bad tokens as GreenlightError with the server code', async () => {
    const invalid = await client()
      .requestAction({ action: 'bad action!', resource: 'x' })
      .catch((caught: unknown) => caught);
    expect(invalid).toBeInstanceOf(GreenlightError);
    expect((invalid as GreenlightError).code).toBe('InvalidInputError');
    const denied = await client({ token: 'not-a-token-of-this-server' })
      .requestAction({ action: 'deploy.update', resource: 'staging/api' })
      .catch((caught: unknown) => caught);
    expect((denied as GreenlightError).code).toBe('UNAUTHENTICATED');
  });
});

describe('verifyReceipt, offline', () => {
  const params = { version: '3.0.0', replicas: 2 };
  let receipt: string;
  let jwks: JSONWebKeySet;
  const expected = { action: 'deploy.update', resource: 'staging/api', params };

  beforeAll(async () => {
    receipt = (await client().requestAction({ action: 'deploy.update', resource: 'staging/api', params })).receipt!;
    jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  });

  const problem = (promise: Promise<unknown>) =>
    promise.then(
      () => 'verified',
      (error: unknown) => (error instanceof ReceiptVerificationError ? error.problem : String(error)),
    );

  it('returns the claims for the exact action, resource and params, in any key order', async () => {
    const claims = await verifyReceipt(receipt, { ...expected, params: { replicas: 2, version: '3.0.0' }, jwks, issuer: 'greenlight' });
    expect(claims).toMatchObject({ action: 'deploy.update', resource: 'staging/api', sub: agent.id, iss: 'greenlight' });
  });

  it('names what does not match', async () => {
    const [header, payload, signature] = receipt.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const rehash = Buffer.from(JSON.stringify({ ...claims, params_sha256: await paramsSha256({ version: '9.9.9' }) })).toString(
      'base64url',
    );
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BA' : 'AA'}`;
    const stranger = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: 'retired-key', typ: 'greenlight-receipt+jwt' })
      .sign(generateKeyPairSync('ed25519').privateKey);

    expect(await problem(verifyReceipt(`${header}.${rehash}.${signature}`, { ...expected, params: { version: '9.9.9' }, jwks }))).toBe(
      'BAD_SIGNATURE',
    );
    expect(await problem(verifyReceipt(`${header}.${payload}.${flipped}`, { ...expected, jwks }))).toBe('BAD_SIGNATURE');
    expect(await problem(verifyReceipt(stranger, { ...expected, jwks }))).toBe('UNKNOWN_KEY');
    expect(await problem(verifyReceipt(receipt, { ...expected, action: 'deploy.rollback', jwks }))).toBe('ACTION_MISMATCH');
    expect(await problem(verifyReceipt(receipt, { ...expected, resource: 'prod/api', jwks }))).toBe('RESOURCE_MISMATCH');
    expect(await problem(verifyReceipt(receipt, { ...expected, params: { ...params, replicas: 20 }, jwks }))).toBe('PARAMS_MISMATCH');
    expect(await problem(verifyReceipt(receipt, { ...expected, jwks, at: new Date((claims.exp + 10) * 1000) }))).toBe('EXPIRED');
    expect(await problem(verifyReceipt(receipt, { ...expected, jwks, issuer: 'https://elsewhere.example' }))).toBe('WRONG_ISSUER');
    expect(await problem(verifyReceipt('garbage', { ...expected, jwks }))).toBe('MALFORMED');
  });

  it('fetches the JWK Set from the server when given its URL', async () => {
    await expect(verifyReceipt(receipt, { ...expected, jwksUrl: `${server.url}/.well-known/jwks.json` })).resolves.toMatchObject({
      resource: 'staging/api',
    });
  });
});

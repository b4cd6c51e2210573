import { Agent, Runner, RunState, tool } from '@openai/agents-core';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { greenlightApprovals, type GreenlightApprovals } from '../../src/client/openai-agents.js';
import { createGreenlightClient, type GreenlightClient } from '../../src/client/node.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, decideAction, nextPendingRequest, publishPolicy, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agentActor: Actor;
let reviewer: Actor;
let client: GreenlightClient;
const runner = new Runner({ tracingDisabled: true });

beforeAll(async () => {
  server = await startTestServer();
  agentActor = await createActor(server, { kind: 'AGENT', name: 'openai-agent', roles: ['AGENT'] });
  reviewer = await createActor(server, { kind: 'HUMAN', name: 'Ada', roles: ['REVIEWER'], groups: ['sre'] });
  await publishPolicy(server, [
    { id: 'allow-staging', effect: 'ALLOW', actions: ['deploy.update'], resources: ['staging/**'] },
    {
      id: 'review-prod',
      effect: 'ESCALATE',
      actions: ['deploy.update'],
      resources: ['prod/**'],
      review: { groups: ['sre'] },
      allowAmend: true,
    },
  ]);
  client = createGreenlightClient({ url: server.url, token: agentActor.token });
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

/** An agent whose offline test model calls `deploy` once, then answers (or only answers, for a resumed run). */
function setUp(env: string, version: string, callId: string, resumedOnly = false) {
  const ran: string[] = [];
  const approvals: GreenlightApprovals = greenlightApprovals(client, {
    deploy: { action: 'deploy.update', resource: ({ env }) => `${env}/api`, reason: ({ version }) => `Roll out ${version}` },
  });
  const deploy = tool(
    approvals.guard({
      name: 'deploy',
      description: 'Deploys a version of the API.',
      parameters: z.object({ env: z.string(), version: z.string() }),
      execute: async ({ env, version }: { env: string; version: string }) => {
        ran.push(`${env}@${version}`);
        return `deployed ${version} to ${env}`;
      },
    }),
  );
  const answer = [assistantMessage('Done.')];
  const model = new ScriptedModel(resumedOnly ? [answer] : [[functionCall('deploy', { env, version }, { callId })], answer]);
  const agent = new Agent({ name: 'deployer', model, tools: [deploy] });
  return { agent, model, ran, approvals };
}

/** The text the model was given as the tool's result, in its second call. */
function toolResultSeen(model: ScriptedModel): string {
  const input = model.calls[1]!.request.input as { type: string; output?: { text?: string } | string }[];
  const result = input.find((item) => item.type === 'function_call_result')!;
  return typeof result.output === 'string' ? result.output : (result.output?.text ?? JSON.stringify(result.output));
}

async function outcomes() {
  const mine = await server.gql(agentActor.token, '{ actionRequests(first: 10) { edges { node { id resource status outcome } } } }');
  return mine.data.actionRequests.edges.map((edge: { node: unknown }) => edge.node);
}

describe('OpenAI Agents JS tools approved by Greenlight (needsApproval bridge)', () => {
  it('runs at once what the policy allows, and reports the outcome', async () => {
    const { agent, ran } = setUp('staging', '1.0.0', 'call-allow');
    const result = await runner.run(agent, 'Deploy 1.0.0 to staging.');
    expect(result.interruptions).toEqual([]);
    expect(result.finalOutput).toBe('Done.');
    expect(ran).toEqual(['staging@1.0.0']);
    expect(await outcomes()).toContainEqual(expect.objectContaining({ resource: 'staging/api', status: 'APPROVED', outcome: 'SUCCEEDED' }));
  });

  it('interrupts on escalation; once a reviewer approves with changes, resume runs the tool with the approved params', async () => {
    const { agent, ran, approvals } = setUp('prod', '2.0.0', 'call-approve');
    const pending = await nextPendingRequest(server, reviewer.token);
    const first = await runner.run(agent, 'Deploy 2.0.0 to prod.');
    expect(first.interruptions.map((item) => item.name)).toEqual(['deploy']);
    const requestId = await pending();
    const resolving = approvals.resolve(first.state);
    await decideAction(server, reviewer.token, { requestId, verdict: 'APPROVE', params: { env: 'prod', version: '2.0.1' } });
    expect((await resolving).pending).toEqual([]);
    const resumed = await runner.run(agent, first.state);
    expect(resumed.finalOutput).toBe('Done.');
    expect(ran).toEqual(['prod@2.0.1']);
    expect(await outcomes()).toContainEqual({ id: requestId, resource: 'prod/api', status: 'APPROVED', outcome: 'SUCCEEDED' });
  });

  it('rejects the call when a reviewer rejects: the tool never runs and the model reads the modelMessage', async () => {
    const { agent, model, ran, approvals } = setUp('prod', '3.0.0', 'call-reject');
    const pending = await nextPendingRequest(server, reviewer.token);
    const first = await runner.run(agent, 'Deploy 3.0.0 to prod.');
    const requestId = await pending();
    await decideAction(server, reviewer.token, { requestId, verdict: 'REJECT', comment: 'Change freeze.' });
    expect((await approvals.resolve(first.state)).pending).toEqual([]);
    const resumed = await runner.run(agent, first.state);
    expect(resumed.finalOutput).toBe('Done.');
    expect(ran).toEqual([]);
    const seen = toolResultSeen(model);
    expect(seen).toContain('Rejected by reviewer Ada');
    expect(seen).toContain('Change freeze.');
  });

  it('never runs a tool call whose input is not what was approved for its call id', async () => {
    const ran: string[] = [];
    const approvals = greenlightApprovals(client, { pay: { action: 'deploy.update', resource: ({ env }) => `${env}/api` } });
    const guarded = approvals.guard({
      name: 'pay',
      execute: async ({ env, version }: { env: string; version: string }) => {
        ran.push(`${env}@${version}`);
        return 'ran';
      },
    });
    const needsApproval = (guarded as unknown as { needsApproval: (c: unknown, i: unknown, id: string) => Promise<boolean> }).needsApproval;
    expect(await needsApproval({}, { env: 'staging', version: '1' }, 'call-swap')).toBe(false);
    // What the framework calls: the input, the run context, and the call's details.
    const execute = guarded.execute as (input: unknown, context: unknown, details: { toolCall: { callId: string } }) => Promise<unknown>;
    const output = await execute({ env: 'staging', version: '999' }, undefined, { toolCall: { callId: 'call-swap' } });
    expect(output).toContain('not what Greenlight was asked to approve');
    expect(ran).toEqual([]);
    expect(await execute({ env: 'staging', version: '1' }, undefined, { toolCall: { callId: 'call-swap' } })).toBe('ran');
    expect(ran).toEqual(['staging@1']);
  });

  it('resumes a saved run from its serialized state once the decision is in (interrupt: resolve without waiting)', async () => {
    const { agent, approvals } = setUp('prod', '4.0.0', 'call-later');
    const pending = await nextPendingRequest(server, reviewer.token);
    const first = await runner.run(agent, 'Deploy 4.0.0 to prod.');
    const requestId = await pending();
    const unresolved = await approvals.resolve(first.state, { wait: false });
    expect(unresolved.pending.map((decision) => decision.requestId)).toEqual([requestId]);
    const saved = first.state.toString();

    await decideAction(server, reviewer.token, { requestId, verdict: 'APPROVE' });
    // As another process would: the bridge and the agent built again, the run from its saved state alone.
    const later = setUp('prod', '4.0.0', 'call-later', true);
    const state = await RunState.fromString(later.agent, saved);
    expect((await later.approvals.resolve(state, { wait: false })).pending).toEqual([]);
    const resumed = await runner.run(later.agent, state);
    expect(resumed.finalOutput).toBe('Done.');
    expect(later.ran).toEqual(['prod@4.0.0']);
    expect(later.model.calls).toHaveLength(1);
  });
});

import { generateText, stepCountIs, tool, type ModelMessage } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { guardTool } from '../../src/client/ai-sdk.js';
import { createGreenlightClient, type GreenlightClient } from '../../src/client/node.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, decideAction, nextPendingRequest, publishPolicy, type Actor } from '../support/fixtures.js';

let server: TestServer;
let agent: Actor;
let reviewer: Actor;
let greenlight: GreenlightClient;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'ai-sdk-agent', roles: ['AGENT'] });
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
  greenlight = createGreenlightClient({ url: server.url, token: agent.token });
});

afterAll(async () => {
  await greenlight?.close();
  await server?.stop();
});

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

/** The AI SDK's offline test model: first it calls the deploy tool, then it answers in text. */
function scriptedModel(input: { environment: string; version: string }) {
  return new MockLanguageModelV3({
    doGenerate: [
      {
        content: [{ type: 'tool-call', toolCallId: 'call-1', toolName: 'deploy', input: JSON.stringify(input) }],
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage,
        warnings: [],
      },
      { content: [{ type: 'text', text: 'Done.' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] },
    ],
  });
}

function deployTool(ran: string[]) {
  return guardTool(
    greenlight,
    tool({
      description: 'Deploys a version of the API to an environment.',
      inputSchema: z.object({ environment: z.string(), version: z.string() }),
      execute: async ({ environment, version }) => {
        ran.push(`${environment}@${version}`);
        return { deployed: version };
      },
    }),
    { action: 'deploy.update', resource: ({ environment }) => `${environment}/api`, reason: ({ version }) => `Roll out ${version}` },
  );
}

/** What the model was given as the deploy tool's result, in its second call. */
function toolResultSeenByModel(model: MockLanguageModelV3): unknown {
  const prompt = model.doGenerateCalls[1]!.prompt as ModelMessage[];
  const message = prompt.find((entry) => entry.role === 'tool');
  const part = (message!.content as { type: string; output: { type: string; value: unknown } }[]).find((p) => p.type === 'tool-result');
  return part!.output.value;
}

describe('a Vercel AI SDK tool behind Greenlight (guardTool)', () => {
  it('runs the tool when the policy allows it, and reports the outcome', async () => {
    const ran: string[] = [];
    const model = scriptedModel({ environment: 'staging', version: '1.4.0' });
    const result = await generateText({
      model,
      tools: { deploy: deployTool(ran) },
      prompt: 'Deploy 1.4.0 to staging.',
      stopWhen: stepCountIs(2),
    });
    expect(result.text).toBe('Done.');
    expect(ran).toEqual(['staging@1.4.0']);
    expect(toolResultSeenByModel(model)).toEqual({ deployed: '1.4.0' });
    const mine = await server.gql(agent.token, '{ actionRequests(first: 1) { edges { node { resource status outcome reason } } } }');
    expect(mine.data.actionRequests.edges[0].node).toEqual({
      resource: 'staging/api',
      status: 'APPROVED',
      outcome: 'SUCCEEDED',
      reason: 'Roll out 1.4.0',
    });
  });

  it('does not run a tool with mapped params when the reviewer approved other params, and tells the model which', async () => {
    const ran: string[] = [];
    const guarded = guardTool(
      greenlight,
      tool({
        description: 'Deploys.',
        inputSchema: z.object({ environment: z.string(), version: z.string() }),
        execute: async ({ environment, version }) => {
          ran.push(`${environment}@${version}`);
          return { deployed: version };
        },
      }),
      { action: 'deploy.update', resource: ({ environment }) => `${environment}/api`, params: ({ version }) => ({ version }) },
    );
    const model = scriptedModel({ environment: 'prod', version: '5.0.0' });
    const pending = await nextPendingRequest(server, reviewer.token);
    const running = generateText({ model, tools: { deploy: guarded }, prompt: 'Deploy 5.0.0 to prod.', stopWhen: stepCountIs(2) });
    const requestId = await pending();
    const decided = await decideAction(server, reviewer.token, { requestId, verdict: 'APPROVE', params: { version: '5.0.1' } });
    expect(decided.data.decideAction.errors).toEqual([]);
    await running;
    expect(ran).toEqual([]);
    const seen = toolResultSeenByModel(model) as { modelMessage: string };
    expect(seen.modelMessage).toContain('with changed params: {"version":"5.0.1"}');
  });

  it('does not run the tool when a reviewer rejects, and hands the model the modelMessage', async () => {
    const ran: string[] = [];
    const model = scriptedModel({ environment: 'prod', version: '2.0.0' });
    const pending = await nextPendingRequest(server, reviewer.token);
    const running = generateText({ model, tools: { deploy: deployTool(ran) }, prompt: 'Deploy 2.0.0 to prod.', stopWhen: stepCountIs(2) });
    const requestId = await pending();
    await decideAction(server, reviewer.token, { requestId, verdict: 'REJECT', comment: 'Change freeze this week.' });
    const result = await running;
    expect(result.text).toBe('Done.');
    expect(ran).toEqual([]);
    const seen = toolResultSeenByModel(model) as { modelMessage: string; greenlight: { status: string; requestId: string } };
    expect(seen.greenlight).toEqual({ status: 'REJECTED', requestId, reason: 'Change freeze this week.' });
    expect(seen.modelMessage).toContain('Rejected by reviewer Ada');
    expect(seen.modelMessage).toContain('Change freeze this week.');
  });
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../support/app.js';
import { collect, createActor, requestAction, type Actor } from '../support/fixtures.js';

// Work per event does not grow with identical subscriptions: a live event's payload is executed
// once per operation, variables and permission scope, and shared by every subscriber with them.

let server: TestServer;
let agent: Actor;
let sre: Actor[];
let security: Actor;

const QUEUE = `subscription { pendingApprovals { kind request { id status action } } }`;
const QUEUE_WIDER = `subscription { pendingApprovals { kind cursor request { id resource } } }`;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
  sre = [];
  for (let i = 0; i < 20; i++)
    sre.push(await createActor(server, { kind: 'HUMAN', name: `SRE ${i}`, roles: ['REVIEWER'], groups: ['sre'] }));
  security = await createActor(server, { kind: 'HUMAN', name: 'Sec', roles: ['REVIEWER'], groups: ['security'] });
});

afterAll(async () => {
  await server?.stop();
});

type Change = { pendingApprovals: { kind: string; request: { id: string } } };

describe('fan-out', () => {
  it('executes a live event once for 20 identical subscriptions, once more per other operation or scope', async () => {
    const listeners = server.app.deps.hub.listenerCount();
    const sameScope = sre.map((reviewer) => collect(server.ws(reviewer.token).iterate<Change>({ query: QUEUE })));
    const otherOperation = collect(server.ws(sre[0]!.token).iterate<Change>({ query: QUEUE_WIDER }));
    const otherScope = collect(server.ws(security.token).iterate<Change>({ query: QUEUE }));
    // Live-only subscriptions: wait until every one listens before the event happens.
    await vi.waitFor(() => expect(server.app.deps.hub.listenerCount()).toBe(listeners + 22));

    const before = server.app.fanout.executions;
    const result = await requestAction(server, agent.token, { action: 'deploy.update', resource: 'prod/payments' });
    const id = result.data.requestAction.request.id;
    for (const stream of [...sameScope, otherOperation, otherScope]) {
      expect((await stream.next()).data!.pendingApprovals).toMatchObject({ kind: 'ADDED', request: { id } });
    }
    // One for the 20 alike, one for the other selection, one for the other groups.
    expect(server.app.fanout.executions - before).toBe(3);
    await Promise.all([...sameScope, otherOperation, otherScope].map((stream) => stream.return()));
  });
});

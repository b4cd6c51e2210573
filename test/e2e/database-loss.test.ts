import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CloseCodes } from '../../src/server/websocket.js';
import { startTestServer, type TestServer } from '../support/app.js';
import { createActor, type Actor } from '../support/fixtures.js';
import { createPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import { rawSocket } from '../support/raw-socket.js';

// A PostgreSQL of the test's own, stopped and started again under a running Greenlight. It runs
// in both passes of the suite (it needs the machine's PostgreSQL binaries, not DATABASE_URL).

let cluster: PrivateCluster;
let server: TestServer;
let agent: Actor;

beforeAll(async () => {
  cluster = await createPrivateCluster();
  server = await startTestServer({ database: { databaseUrl: cluster.url, dataDir: 'memory://', drop: async () => {} } });
  agent = await createActor(server, { kind: 'AGENT', name: 'bot', roles: ['AGENT'] });
});

afterAll(async () => {
  await server?.stop();
  await cluster?.destroy();
});

const readiness = async () => {
  const response = await fetch(`${server.url}/health/ready`);
  return { status: response.status, body: await response.json() };
};

describe('losing the database', () => {
  it('makes the server unready and tells its subscribers (1013), then ready again once the database is back', async () => {
    expect(await readiness()).toEqual({ status: 200, body: { status: 'ok', database: 'ok', events: 'ok' } });
    const subscriber = await rawSocket(server.wsUrl);
    await subscriber.init(agent.token);
    subscriber.send({ id: 'decisions', type: 'subscribe', payload: { query: 'subscription { actionDecided { id } } ' } });

    await cluster.stop();
    expect(await subscriber.closed).toBe(CloseCodes.DatabaseUnavailable);
    const down = await readiness();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', database: expect.stringContaining('unreachable') });
    // Liveness stays: the process answers, restarting it would not bring the database back.
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    // A write is refused with a code a client can act on (retry), not as an unexpected error.
    const refused = await server.gql(
      agent.token,
      'mutation { requestAction(input: { action: "read.x", resource: "a/b" }) { request { id } } }',
    );
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0]?.extensions?.['code']).toBe('UNAVAILABLE');

    await cluster.start();
    await vi.waitFor(async () => expect(await readiness()).toEqual({ status: 200, body: { status: 'ok', database: 'ok', events: 'ok' } }), {
      timeout: 20_000,
      interval: 200,
    });
    const again = await rawSocket(server.wsUrl);
    await again.init(agent.token);
    again.send({ id: 'viewer', type: 'subscribe', payload: { query: '{ viewer { id } }' } });
    expect(await again.nextMessage()).toEqual({ id: 'viewer', type: 'next', payload: { data: { viewer: { id: agent.id } } } });
    again.socket.close();
  });
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { appendAuditEvents } from '../../src/audit/append.js';
import { CloseCodes } from '../../src/server/websocket.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/app.js';
import { createActor, type Actor } from '../support/fixtures.js';
import { rawSocket as rawSocketTo } from '../support/raw-socket.js';

// The WebSocket transport's limits, spoken to with raw sockets where a well-behaved client would
// never break the protocol.

let server: TestServer;
let agent: Actor;

const MAX_SUBSCRIPTIONS = 5;

beforeAll(async () => {
  // The default keep-alive (12 s): no test here lasts that long, so no socket is dropped for a pong
  // that a busy machine answered late. The keep-alive test has a server of its own.
  server = await startTestServer({ websocket: { maxSubscriptions: MAX_SUBSCRIPTIONS } });
  agent = await createActor(server, { kind: 'AGENT', name: 'deploy-bot', roles: ['AGENT'] });
});

afterAll(async () => {
  await server?.stop();
});

/** A raw socket to the shared server, or to `on`. */
const rawSocket = (options: { autoPong?: boolean; on?: TestServer } = {}) => rawSocketTo((options.on ?? server).wsUrl, options);

const DECIDED = 'subscription { actionDecided { id } }';

describe('the WebSocket transport', () => {
  it(`refuses a subscription past ${MAX_SUBSCRIPTIONS} on one socket, and takes one again once another completes`, async () => {
    const { send, init, nextMessage, socket } = await rawSocket();
    await init(agent.token);
    for (let i = 1; i <= MAX_SUBSCRIPTIONS; i++) send({ id: `s${i}`, type: 'subscribe', payload: { query: DECIDED } });
    send({ id: 'one-too-many', type: 'subscribe', payload: { query: DECIDED } });
    const refused = await nextMessage();
    expect(refused).toMatchObject({ id: 'one-too-many', type: 'error', payload: [{ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }] });
    send({ id: 's1', type: 'complete' });
    send({ id: 'again', type: 'subscribe', payload: { query: '{ viewer { id } }' } });
    expect(await nextMessage()).toEqual({ id: 'again', type: 'next', payload: { data: { viewer: { id: agent.id } } } });
    expect(await nextMessage()).toEqual({ id: 'again', type: 'complete' });
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close();
  });

  it('closes with 4408 when connection_init does not come within 3 s', async () => {
    const { closed } = await rawSocket();
    expect(await closed).toBe(4408);
  });

  it('closes with 4429 on a second connection_init, and 4409 on a subscription id in use', async () => {
    const twice = await rawSocket();
    await twice.init(agent.token);
    twice.send({ type: 'connection_init', payload: { authorization: `Bearer ${agent.token}` } });
    expect(await twice.closed).toBe(4429);

    const duplicate = await rawSocket();
    await duplicate.init(agent.token);
    duplicate.send({ id: 'same', type: 'subscribe', payload: { query: DECIDED } });
    duplicate.send({ id: 'same', type: 'subscribe', payload: { query: DECIDED } });
    expect(await duplicate.closed).toBe(4409);
  });

  it('pings every socket, and drops one that stops answering', async () => {
    // Pings every 500 ms: often enough for a short test, and a healthy client's pong (answered by
    // its ws library) is not that late even on a busy machine.
    const pinging = await startTestServer({ websocket: { keepAliveMs: 500 } });
    try {
      const healthy = await rawSocket({ on: pinging });
      await healthy.init(ADMIN_TOKEN);
      const pings = new Promise<void>((resolve) => {
        let count = 0;
        healthy.socket.on('ping', () => ++count === 3 && resolve());
      });
      const silent = await rawSocket({ autoPong: false, on: pinging });
      await silent.init(ADMIN_TOKEN);
      expect(await silent.closed).toBe(1006); // terminated, no close frame
      await pings;
      expect(healthy.socket.readyState).toBe(WebSocket.OPEN);
      healthy.socket.close();
    } finally {
      await pinging.stop();
    }
  });

  it(`lets go of a consumer that cannot keep up with ${CloseCodes.SlowConsumer}`, async () => {
    // A server of its own, with the default keep-alive: a paused client answers no ping.
    const quiet = await startTestServer();
    try {
      const listeners = quiet.app.deps.hub.listenerCount();
      const { send, init, socket, closed } = await rawSocket({ on: quiet });
      await init(ADMIN_TOKEN);
      send({ id: 'log', type: 'subscribe', payload: { query: 'subscription { auditEvents { id type data } }' } });
      await vi.waitFor(() => expect(quiet.app.deps.hub.listenerCount()).toBe(listeners + 1));
      // The client stops reading; the kernel's buffers fill, then the server's bounded one.
      (socket as unknown as { _socket: { pause(): void } })._socket.pause();
      const padding = 'x'.repeat(2_000);
      for (let batch = 0; batch < 10; batch++) {
        const rows = await quiet.app.deps.db.transaction((tx) =>
          appendAuditEvents(
            tx,
            Array.from({ length: 1_000 }, (_, i) => ({
              type: 'TOKEN_ROTATED' as const,
              actorId: null,
              data: { principalId: `${batch}-${i}-${padding}`, revokedTokens: 0 },
            })),
          ),
        );
        quiet.app.deps.hub.publish(rows);
      }
      (socket as unknown as { _socket: { resume(): void } })._socket.resume();
      expect(await closed).toBe(CloseCodes.SlowConsumer);
    } finally {
      await quiet.stop();
    }
  });
});

/**
 * The baseline of `npm run bench:fanout` (scenario "baseline"): the same clients and the same load
 * against a bare broadcaster, to show what this machine and these clients cost before a server
 * does any work of its own. bench/fanout.ts starts it in its server process instead of the
 * Greenlight instances.
 *
 * It speaks just enough of the benchmark's protocol for the unchanged client process:
 * - HTTP POST /graphql: the reviewers' snapshot query gets a fixed `streamCursor`; the agent's
 *   `requestAction` gets a new id as PENDING and, right after the response, that request's ADDED
 *   is broadcast to every subscription;
 * - WebSocket /graphql, graphql-transport-ws: `connection_init` is acknowledged, `subscribe`
 *   registers the subscription, `ping` is answered, `complete` and a closed socket remove it.
 *
 * No database, no authentication, no GraphQL execution, no eligibility, no event log. The
 * broadcast serialises and encodes the payload once and writes each subscription one frame,
 * built with Greenlight's own `nextFrame` and written straight to the TCP socket, in one
 * synchronous loop: Greenlight's write path with nothing in front of it. What is left is the
 * cost of the fan-out itself (a frame and a system call per socket, the loopback TCP stack, the
 * clients reading and parsing every message), which every server pays on this machine.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { nextFrame, rawSocketOf, type RawSocket } from '../src/server/direct-delivery.js';

export interface BaselineServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** Subscriptions currently registered. */
  subscriptions(): number;
  /** Per request id: when it was accepted (the broadcast's "commit") and when every subscription had been sent its ADDED. */
  committedAt: Map<string, number>;
  handedAt: Map<string, number>;
  stop(): Promise<void>;
}

interface Subscription {
  /** The TCP socket under the WebSocket. */
  raw: RawSocket;
  /** `{"id":"…","type":"next","payload":` for this subscription, in UTF-8. */
  head: Buffer;
}

const json = (response: ServerResponse, body: unknown) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

async function readJson(request: IncomingMessage): Promise<{ query?: string; variables?: { input?: { resource?: string } } }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as never;
}

/** Starts the broadcaster on 127.0.0.1, port 0. */
export async function startBaselineServer(): Promise<BaselineServer> {
  const subscriptions = new Set<Subscription>();
  const committedAt = new Map<string, number>();
  const handedAt = new Map<string, number>();
  let cursor = 0;

  const broadcast = (id: string, resource: string) => {
    const payload = Buffer.from(
      JSON.stringify({
        data: {
          pendingApprovals: {
            kind: 'ADDED',
            cursor: String(++cursor),
            request: { id, status: 'PENDING', action: 'deploy.update', resource },
          },
        },
      }),
    );
    for (const subscription of subscriptions) subscription.raw.write(nextFrame(subscription.head, payload));
    handedAt.set(id, performance.now());
  };

  const server = createServer((request, response) => {
    if (request.method !== 'POST') return void response.writeHead(405).end();
    readJson(request).then(
      (body) => {
        if (!body.query?.includes('requestAction')) return json(response, { data: { pendingApprovals: { streamCursor: String(cursor) } } });
        const id = randomUUID();
        committedAt.set(id, performance.now());
        json(response, { data: { requestAction: { request: { id, status: 'PENDING' }, errors: [] } } });
        broadcast(id, body.variables?.input?.resource ?? '');
      },
      () => void response.writeHead(400).end(),
    );
  });
  server.keepAliveTimeout = 5_000;

  // ws picks the first subprotocol the client offers: graphql-ws offers only graphql-transport-ws.
  const wss = new WebSocketServer({ server, path: '/graphql', perMessageDeflate: false });
  wss.on('connection', (socket: WebSocket) => {
    const raw = rawSocketOf(socket)!; // ws sockets on a Node server always have one
    const own = new Map<string, Subscription>();
    // A socket error is followed by 'close', which removes its subscriptions.
    socket.on('error', () => undefined);
    socket.on('message', (data) => {
      let message: { type?: string; id?: string };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return socket.close(4400, 'Invalid message received');
      }
      if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
      else if (message.type === 'ping') socket.send('{"type":"pong"}');
      else if (message.type === 'subscribe' && typeof message.id === 'string') {
        const subscription = { raw, head: Buffer.from(`{"id":${JSON.stringify(message.id)},"type":"next","payload":`) };
        own.set(message.id, subscription);
        subscriptions.add(subscription);
      } else if (message.type === 'complete' && typeof message.id === 'string') {
        const subscription = own.get(message.id);
        if (subscription) subscriptions.delete(subscription);
        own.delete(message.id);
      }
    });
    socket.on('close', () => {
      for (const subscription of own.values()) subscriptions.delete(subscription);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    subscriptions: () => subscriptions.size,
    committedAt,
    handedAt,
    async stop() {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: connect here to reach the target through the proxy. */
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Resolves once the target has sent `text` to a client through the proxy (since the last cut). */
  seen(text: string): Promise<void>;
  /** Destroys every open connection, both sides, as a network failure or a crashed peer would. */
  cutAll(): void;
  /** While true, new connections are closed as soon as they arrive (the target is unreachable). */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy to `targetPort`, for tests that cut connections without touching either end. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  let received = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    accepted += 1;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      for (const waiter of [...waiters]) {
        if (received.includes(waiter.text)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    seen: (text) => (received.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }))),
    cutAll() {
      received = '';
      for (const socket of open) socket.destroy();
    },
    refuse(on) {
      refusing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

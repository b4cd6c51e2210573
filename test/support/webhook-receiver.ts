import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: { type: string; timestamp: string; data: { event: { seq: number; type: string }; request?: { id: string; status: string } } };
  raw: string;
}

/**
 * A loopback endpoint that verifies each delivery with the `standardwebhooks` package (a failed
 * verification answers 401 and is counted), records the verified ones, and can be told to fail
 * or to hold its answers.
 */
export interface WebhookReceiver {
  url: string;
  /** Verified deliveries, in arrival order. */
  received: Received[];
  /** Deliveries whose signature did not verify. */
  rejected: number;
  /** The secret(s) to verify with (set after `createWebhook`). */
  secrets: string[];
  /** Answer the next `n` deliveries with 500. */
  failNext(n: number): void;
  /** Hold every answer until `release()` (a hung endpoint). */
  hold(): void;
  release(): void;
  /** Resolves once any delivery arrived with a valid signature, answered or not (a failing attempt counts). */
  untilAttempted(): Promise<void>;
  /** Resolves once `predicate` holds for what was received. */
  until(predicate: (received: Received[]) => boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let failures = 0;
  let holding = false;
  const held: ServerResponse[] = [];
  const waiters = new Set<() => void>();
  let attempted = 0;
  const state = {
    received: [] as Received[],
    rejected: 0,
    secrets: [] as string[],
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = req.headers as Record<string, string>;
      const verified = state.secrets.some((secret) => {
        try {
          new Webhook(secret).verify(raw, headers);
          return true;
        } catch {
          return false;
        }
      });
      if (!verified) {
        state.rejected++;
        res.writeHead(401).end();
        return;
      }
      attempted++;
      for (const wake of [...waiters]) wake();
      if (failures > 0) {
        failures--;
        res.writeHead(500).end('not now');
        return;
      }
      state.received.push({ id: headers['webhook-id']!, headers: req.headers, body: JSON.parse(raw), raw });
      for (const wake of [...waiters]) wake();
      if (holding) held.push(res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    get received() {
      return state.received;
    },
    get rejected() {
      return state.rejected;
    },
    get secrets() {
      return state.secrets;
    },
    set secrets(value: string[]) {
      state.secrets = value;
    },
    failNext: (n) => void (failures = n),
    hold: () => void (holding = true),
    release() {
      holding = false;
      for (const res of held.splice(0)) res.writeHead(204).end();
    },
    untilAttempted() {
      if (attempted > 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const check = () => {
          if (attempted === 0) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    until(predicate) {
      if (predicate(state.received)) return Promise.resolve();
      return new Promise((resolve) => {
        const check = () => {
          if (!predicate(state.received)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as WebhookReceiver;
}

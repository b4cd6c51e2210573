import { expect } from 'vitest';
import WebSocket from 'ws';

export interface RawSocket {
  socket: WebSocket;
  /** The close code, once the socket closes. */
  closed: Promise<number>;
  send(message: unknown): void;
  /** Sends `connection_init` with the token and expects `connection_ack`. */
  init(token: string): Promise<void>;
  nextMessage(): Promise<{ type: string; id?: string; payload?: unknown }>;
}

/**
 * A raw graphql-transport-ws socket to `wsUrl`, for tests that speak the protocol (or break it)
 * where a well-behaved client library would not.
 */
export async function rawSocket(wsUrl: string, options: { autoPong?: boolean } = {}): Promise<RawSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { autoPong: options.autoPong ?? true });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  let notify: () => void = () => undefined;
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    notify();
  });
  const nextMessage = async () => {
    while (messages.length === 0) await new Promise<void>((resolve) => (notify = resolve));
    return messages.shift()!;
  };
  const send = (message: unknown) => socket.send(JSON.stringify(message));
  const init = async (token: string) => {
    send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    expect(await nextMessage()).toEqual({ type: 'connection_ack' });
  };
  return { socket, closed, send, init, nextMessage };
}

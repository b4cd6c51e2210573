import { GraphQLError } from 'graphql';
import type { WebSocket } from 'ws';
import { SlowConsumerError } from '../errors.js';
import type { SharedJson, SharedStream } from './shared-subscriptions.js';

/**
 * Bytes a socket may hold unsent (beyond what the kernel took) before its subscriber counts as
 * too slow: its subscription ends with SLOW_CONSUMER and the socket closes with 4413.
 */
export const SOCKET_BUFFER_LIMIT_BYTES = 1024 * 1024;

/** The TCP socket under a WebSocket, where frames can be written directly. */
export type RawSocket = { cork(): void; uncork(): void; write(data: Buffer): boolean };
/** The TCP socket under `socket` (ws keeps it as `_socket`), if there is one. */
export const rawSocketOf = (socket: WebSocket): RawSocket | undefined => (socket as unknown as { _socket?: RawSocket })._socket;

/**
 * Writes `next` frames to WebSockets, beside ws's own writes: the one place that reaches under
 * ws to the TCP socket. One per app (see `live-delivery.ts`), for its one WebSocket server.
 *
 * Sockets written to in a turn of the event loop stay corked until the turn's work is done
 * (setImmediate), so when a turn carries several events (the hub read a page of them, as it does
 * when commits come faster than they are fanned out) each socket gets one write for all of them
 * instead of one per event: the system call per write is most of a delivery's cost.
 *
 * Frames keep messages whole and in order beside ws's writes (graphql-ws's `complete`, pongs)
 * because ws writes every frame at once: the server has no permessage-deflate and sends no Blobs,
 * the two things that make ws hold frames back. A socket with no TCP socket under it (none here
 * today) gets the message through `ws.send`.
 */
export class FrameWriter {
  #corked = new Set<RawSocket>();

  /** Sends the graphql-ws message `prefix` + `body` + `}`; `head` is `prefix` in UTF-8. */
  write(socket: WebSocket, prefix: string, head: Buffer, body: SharedJson): void {
    const raw = rawSocketOf(socket);
    if (!raw) return socket.send(`${prefix}${body.text}}`);
    this.#corkForThisTurn(raw);
    raw.write(nextFrame(head, body.bytes()));
  }

  #corkForThisTurn(raw: RawSocket): void {
    if (this.#corked.has(raw)) return;
    if (this.#corked.size === 0) setImmediate(() => this.#flush());
    raw.cork();
    this.#corked.add(raw);
  }

  #flush(): void {
    const sockets = this.#corked;
    this.#corked = new Set();
    for (const raw of sockets) raw.uncork();
  }
}

/**
 * One WebSocket text frame (RFC 6455 §5.2: FIN, opcode 1, unmasked as a server's frames are)
 * holding `head`, `body` and a closing brace: a graphql-ws `next` message whose payload `body` is
 * shared by many subscribers. Built with one copy, instead of ws encoding the whole message again
 * for every socket.
 */
export function nextFrame(head: Buffer, body: Buffer): Buffer {
  const length = head.length + body.length + 1;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  head.copy(frame, headerLength);
  body.copy(frame, headerLength + head.length);
  frame[frame.length - 1] = 0x7d; // }
  return frame;
}

/**
 * Writes a shared subscription's results to its socket as graphql-ws `next` messages: each
 * result's JSON is made and encoded once for all subscribers that share it (see `SharedStream`)
 * and framed here with the subscription's id. A live event thus reaches a ready subscriber in the
 * hub's own loop: an eligibility check, one frame and a socket write. (graphql-ws would await
 * each subscriber's iterator, serialise every result again and wait for every write.)
 *
 * What it returns takes the stream's place in graphql-ws: it yields nothing itself, ends when the
 * stream ends (graphql-ws then sends `complete`), fails with the stream's error (graphql-ws sends
 * `error`), and `return()` (the client's `complete`, or the socket closing) ends the stream.
 */
export function deliverDirectly(writer: FrameWriter, socket: WebSocket, id: string, stream: SharedStream): AsyncIterableIterator<never> {
  const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  const head = Buffer.from(prefix);
  let stopped = false;
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const delivering = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // A failure before graphql-ws reads it is not unhandled: graphql-ws gets it from `next()`.
  delivering.catch(() => undefined);
  const stop = async (): Promise<IteratorResult<never>> => {
    stopped = true;
    await stream.return();
    settle.resolve();
    return { value: undefined, done: true };
  };
  stream.attach({
    next(json) {
      if (stopped || socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > SOCKET_BUFFER_LIMIT_BYTES) {
        const error = new SlowConsumerError('1 MiB of messages');
        settle.reject(new GraphQLError(error.message, { originalError: error, extensions: error.extensions }));
        void stop();
        return;
      }
      writer.write(socket, prefix, head, json);
    },
    end: () => settle.resolve(),
    fail: (error) => settle.reject(error),
  });
  return {
    next: () => delivering.then(() => ({ value: undefined, done: true })),
    return: stop,
    async throw(error: unknown) {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

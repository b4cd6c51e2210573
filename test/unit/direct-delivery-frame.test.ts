import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { FrameWriter, nextFrame, rawSocketOf } from '../../src/server/direct-delivery.js';
import type { SharedJson } from '../../src/server/shared-subscriptions.js';

// Frames built by direct delivery, written to a real server socket and read by a real ws client:
// each length encoding of RFC 6455 (7 bits, 16 bits, 64 bits) at its limits, multi-byte UTF-8 included.

const head = Buffer.from('{"id":"sub-é","type":"next","payload":');
/** A payload whose frame holds `length` bytes of message (the id prefix, the payload, `}`). */
const payloadForMessageOf = (length: number) => `{"d":"${'x'.repeat(length - head.length - 1 - 8)}"}`;
// Either side of each length encoding's limit (125 | 126, 65,535 | 65,536), and multi-byte text.
const payloads = [...[125, 126, 65_535, 65_536].map(payloadForMessageOf), '{"data":1}', `{"data":"${'ü'.repeat(40_000)}"}`];
let server: WebSocketServer;
let url: string;

beforeAll(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The text messages a ws client receives when the server writes `frames` straight to the TCP socket. */
async function receive(frames: Buffer[]): Promise<string[]> {
  server.once('connection', (socket) => {
    const raw = rawSocketOf(socket)!;
    for (const frame of frames) raw.write(frame);
    socket.close();
  });
  const client = new WebSocket(url);
  const messages: string[] = [];
  client.on('message', (data, isBinary) => messages.push(isBinary ? '<binary>' : data.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    client.on('close', resolve);
    client.on('error', reject);
  });
  expect(code).toBe(1005); // the server's close frame, after the messages: the stream parsed cleanly
  return messages;
}

describe('nextFrame', () => {
  it('builds messages of the lengths meant', () => {
    expect(payloads.slice(0, 4).map((text) => head.length + Buffer.byteLength(text) + 1)).toEqual([125, 126, 65_535, 65_536]);
  });

  it.each(payloads.map((text) => [Buffer.byteLength(text), text]))('frames a %i-byte payload as one text message', async (_, text) => {
    const messages = await receive([nextFrame(head, Buffer.from(text))]);
    expect(messages).toEqual([`${head.toString()}${text}}`]);
    expect(JSON.parse(messages[0]!)).toEqual({ id: 'sub-é', type: 'next', payload: JSON.parse(text) });
  });

  it('keeps frames written back to back whole and in order', async () => {
    const messages = await receive(payloads.map((text) => nextFrame(head, Buffer.from(text))));
    expect(messages).toEqual(payloads.map((text) => `${head.toString()}${text}}`));
  });
});

describe('FrameWriter', () => {
  const prefix = head.toString();
  const json = (text: string): SharedJson => ({ text, bytes: () => Buffer.from(text) });

  /** What a ws client receives when the server's `write` runs on its socket, and the TCP writes made before the close. */
  async function through(write: (socket: WebSocket) => void): Promise<{ messages: string[]; writes: number }> {
    let writes = 0;
    let writesBeforeClose = -1;
    server.once('connection', (socket) => {
      const raw = rawSocketOf(socket)! as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
      const writeGeneric = raw._writeGeneric.bind(raw);
      raw._writeGeneric = (...args: unknown[]) => {
        writes++;
        return writeGeneric(...args);
      };
      write(socket);
      // After the writer's own flush (queued first), before the close frame's write.
      setImmediate(() => {
        writesBeforeClose = writes;
        socket.close();
      });
    });
    const client = new WebSocket(url);
    const messages: string[] = [];
    client.on('message', (data) => messages.push(data.toString()));
    await new Promise((resolve, reject) => {
      client.on('close', resolve);
      client.on('error', reject);
    });
    return { messages, writes: writesBeforeClose };
  }

  it('writes the messages of one turn to a socket in one write, whole and in order', async () => {
    const writer = new FrameWriter();
    const texts = ['{"data":1}', '{"data":2}', `{"data":"${'ü'.repeat(100)}"}`];
    const { messages, writes } = await through((socket) => {
      for (const text of texts) writer.write(socket, prefix, head, json(text));
    });
    expect(messages).toEqual(texts.map((text) => `${prefix}${text}}`));
    expect(writes).toBe(1);
  });

  it('falls back to ws.send for a socket with no TCP socket under it', () => {
    const sent: string[] = [];
    const socket = { send: (text: string) => sent.push(text) } as unknown as WebSocket;
    new FrameWriter().write(socket, prefix, head, json('{"data":1}'));
    expect(sent).toEqual([`${prefix}{"data":1}}`]);
  });
});

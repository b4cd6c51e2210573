/**
 * `greenlight/client` in Node: the same SDK, with the `ws` package as the WebSocket when the
 * runtime has none (Node 20).
 */
import WebSocket from 'ws';
import { createGreenlightClient as createClient, type GreenlightClient, type GreenlightClientOptions } from './client.js';

export * from './index.js';

export function createGreenlightClient(options: GreenlightClientOptions): GreenlightClient {
  const webSocketImpl =
    options.webSocketImpl === undefined ? ((globalThis as { WebSocket?: unknown }).WebSocket ?? WebSocket) : options.webSocketImpl;
  return createClient({ ...options, webSocketImpl });
}

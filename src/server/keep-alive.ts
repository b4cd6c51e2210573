/** What the keep-alive needs of a socket (a `ws` WebSocket). */
export interface PingableSocket {
  ping(): void;
  terminate(): void;
  on(event: 'pong' | 'close', listener: () => void): unknown;
}

/**
 * Sockets are pinged in this many groups, one group per tick, so that a server with many sockets
 * does not write thousands of pings (and read thousands of pongs) at one instant: such a burst
 * would delay any live event that happens to be fanned out at the same time.
 */
const GROUPS = 16;

/**
 * Pings every socket once per `intervalMs`; a socket that has not answered the previous ping by
 * then is terminated, so dead peers do not hold subscriptions (and proxies see traffic). One timer
 * serves every socket: sockets are spread over `GROUPS` groups as they connect, and each tick
 * (every `intervalMs / GROUPS`) pings one group.
 */
export function createKeepAlive(intervalMs: number) {
  const groups = Array.from({ length: GROUPS }, () => new Set<PingableSocket>());
  const answered = new WeakMap<PingableSocket, boolean>();
  let nextGroup = 0;
  let tick = 0;
  const timer = setInterval(() => {
    const group = groups[tick]!;
    tick = (tick + 1) % GROUPS;
    for (const socket of group) {
      if (!answered.get(socket)) {
        group.delete(socket);
        socket.terminate();
        continue;
      }
      answered.set(socket, false);
      socket.ping();
    }
  }, intervalMs / GROUPS);
  timer.unref();
  return {
    /** Starts keeping `socket` alive (until it closes). */
    add(socket: PingableSocket): void {
      const group = groups[nextGroup]!;
      nextGroup = (nextGroup + 1) % GROUPS;
      answered.set(socket, true);
      group.add(socket);
      socket.on('pong', () => answered.set(socket, true));
      socket.on('close', () => group.delete(socket));
    },
    /** Stops pinging (the sockets themselves are left alone). */
    stop(): void {
      clearInterval(timer);
    },
  };
}

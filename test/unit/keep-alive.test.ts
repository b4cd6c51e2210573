import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKeepAlive, type PingableSocket } from '../../src/server/keep-alive.js';

// The keep-alive's schedule (pings spread over the interval, silent sockets dropped) on plain
// objects and fake timers; test/e2e/websocket-limits pings and drops real sockets.

class Peer implements PingableSocket {
  pings = 0;
  terminated = false;
  private readonly handlers = new Map<string, () => void>();
  constructor(private readonly answers = true) {}
  ping() {
    this.pings++;
    if (this.answers) this.handlers.get('pong')?.();
  }
  terminate() {
    this.terminated = true;
    this.handlers.get('close')?.();
  }
  on(event: 'pong' | 'close', listener: () => void) {
    this.handlers.set(event, listener);
  }
  close() {
    this.handlers.get('close')?.();
  }
}

describe('keep-alive', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('pings every socket once per interval, a sixteenth of them at a time', () => {
    const keepAlive = createKeepAlive(1_600);
    const peers = Array.from({ length: 64 }, () => new Peer());
    for (const peer of peers) keepAlive.add(peer);

    vi.advanceTimersByTime(100);
    expect(peers.filter((p) => p.pings === 1)).toHaveLength(4);
    vi.advanceTimersByTime(1_500);
    expect(peers.map((p) => p.pings)).toEqual(peers.map(() => 1));
    vi.advanceTimersByTime(1_600);
    expect(peers.map((p) => p.pings)).toEqual(peers.map(() => 2));
    expect(peers.some((p) => p.terminated)).toBe(false);
    keepAlive.stop();
  });

  it('terminates a socket that did not answer its previous ping, and forgets closed ones', () => {
    const keepAlive = createKeepAlive(1_600);
    const healthy = new Peer();
    const silent = new Peer(false);
    const closed = new Peer();
    for (const peer of [healthy, silent, closed]) keepAlive.add(peer);
    closed.close();

    vi.advanceTimersByTime(1_600);
    expect([healthy.pings, silent.pings, closed.pings]).toEqual([1, 1, 0]);
    expect(silent.terminated).toBe(false);
    vi.advanceTimersByTime(1_600);
    expect(silent.terminated).toBe(true);
    expect(silent.pings).toBe(1);
    expect(healthy.pings).toBe(2);
    vi.advanceTimersByTime(1_600);
    expect(silent.pings).toBe(1);
    expect(healthy.terminated).toBe(false);

    keepAlive.stop();
    vi.advanceTimersByTime(1_600);
    expect(healthy.pings).toBe(3);
  });
});

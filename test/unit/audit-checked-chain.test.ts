import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalEvent, eventHash, GENESIS_HASH, type SealedEvent } from '../../src/audit/chain.js';
import { checkEvent, verifyChain, type CheckpointRecord } from '../../src/audit/verify.js';
import { prng, type Random } from '../support/prng.js';

// The node-postgres reader checks each event against its own hash as it reads it, and hands
// verifyChain only the links (`CheckedEvent`). Both must come to the very same report.

const TEXTS = ['', 'a', 'é', '😀', '\u0000', '"', '\\', '\n', '\ud83d', '\ude00', 'mallory'];

function eventAt(random: Random, id: number): Omit<SealedEvent, 'seq' | 'prevHash' | 'hash'> {
  return {
    id,
    type: random.pick(['ACTION_REQUESTED', 'REVIEW_SUBMITTED', 'PRINCIPAL_CREATED']),
    actorId: random.chance(0.5) ? null : `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    requestId: null,
    data: { name: random.some(TEXTS, 3).join(''), n: random.int(1000), nested: { list: [random.next(), null, true] } },
    createdAt: `2026-01-01T00:00:${String(id % 60).padStart(2, '0')}.123456Z`,
  };
}

/** A sealed chain of `n` events, with a checkpoint every 5 (signatures are checked by `signed`). */
function chainOf(random: Random, n: number): { events: SealedEvent[]; checkpoints: CheckpointRecord[] } {
  const events: SealedEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const event = eventAt(random, seq);
    const hash = eventHash(prevHash, event);
    events.push({ ...event, seq, prevHash, hash });
    prevHash = hash;
  }
  const checkpoints = events
    .filter((e) => e.seq % 5 === 0)
    .map((e) => ({ seq: e.seq, hash: e.hash, keyId: 'k', signature: `signed:${e.hash}` }));
  return { events, checkpoints };
}

/** One of the ways a database superuser could tamper with the rows. */
function tamper(random: Random, events: SealedEvent[], checkpoints: CheckpointRecord[]): void {
  const k = 1 + random.int(events.length - 2);
  switch (random.int(6)) {
    case 0: // an edit
      events[k] = { ...events[k]!, data: { name: 'mallory' } };
      break;
    case 1: // a deletion
      events.splice(k, 1);
      break;
    case 2: {
      // a swap of contents, near or far: each place keeps its seq
      const j = k - 1 - random.int(k);
      const [a, b] = [events[j]!, events[k]!];
      events[j] = { ...b, seq: a.seq };
      events[k] = { ...a, seq: b.seq };
      break;
    }
    case 3: {
      // a forged event with a correct hash, later events moved up one
      const forged = { ...eventAt(random, 999_999), seq: events[k]!.seq, prevHash: events[k - 1]!.hash, hash: '' };
      forged.hash = eventHash(forged.prevHash, forged);
      for (const later of events.slice(k)) later.seq += 1;
      events.splice(k, 0, forged);
      break;
    }
    case 4: {
      // an edit with a fresh hash, and maybe every later hash recomputed
      const all = random.chance(0.5);
      for (let i = k; i < (all ? events.length : k + 1); i++) {
        const prevHash = i === k ? events[i]!.prevHash : events[i - 1]!.hash;
        const edited = { ...events[i]!, prevHash, data: i === k ? { name: 'mallory' } : events[i]!.data };
        events[i] = { ...edited, hash: eventHash(prevHash, edited) };
      }
      break;
    }
    default: // a forged signature
      if (checkpoints.length > 0) checkpoints[random.int(checkpoints.length)]!.signature = 'forged';
  }
}

async function* streamOf<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

describe('eventHash', () => {
  it('hashes the same bytes as sha256 fed the previous hash, then the canonical event, lone surrogates included', () => {
    // The chain's definition, written the long way (a Hash object updated twice), as it was
    // computed before eventHash became a single call: logs sealed since then must still verify.
    const reference = (prevHash: string, event: Parameters<typeof canonicalEvent>[0]) =>
      createHash('sha256').update(prevHash).update(canonicalEvent(event)).digest('hex');
    const random = prng(11);
    for (let i = 0; i < 2_000; i++) {
      const event = eventAt(random, random.int(1e9));
      const prevHash = random.chance(0.9) ? reference(GENESIS_HASH, event) : random.some(TEXTS, 4).join('');
      expect(eventHash(prevHash, event)).toBe(reference(prevHash, event));
    }
  });

  it('gives the known hashes of a two-event chain (computed independently, with sha256sum for the first)', () => {
    const first = {
      id: 1,
      type: 'PRINCIPAL_CREATED',
      actorId: null,
      requestId: null,
      data: { name: 'admin' },
      createdAt: '2026-11-24T05:01:39.983829Z',
    };
    const second = {
      id: 2,
      type: 'REVIEW_SUBMITTED',
      actorId: 'c1b7a5a0-1234-4c2a-9a9a-0d1f2e3a4b5c',
      requestId: '67fd8102-1234-4c2a-9a9a-0d1f2e3a4b5c',
      data: { comment: 'é😀 \u2028', verdict: 'APPROVE', n: [1, 0.5, null] },
      createdAt: '2026-11-24T05:01:40.000001Z',
    };
    const firstHash = eventHash(GENESIS_HASH, first);
    expect(firstHash).toBe('9c8e53f00353ebf699308d17a23ecf31dbebabe94ddfbe199f25d9398d760349');
    expect(eventHash(firstHash, second)).toBe('592a87f9ecfd08626a10bad4e27910e553ae6281e803cbf60e35ef7388d55903');
  });
});

describe('verifyChain over checked events', () => {
  it('reports exactly what it reports over whole events, for 500 tampered chains', async () => {
    const random = prng(20261124);
    const reasons = new Set<string | null>();
    for (let i = 0; i < 500; i++) {
      const { events, checkpoints } = chainOf(random, 8 + random.int(20));
      if (i % 10 !== 0) tamper(random, events, checkpoints);
      const common = {
        checkpoints,
        fromSeq: 1,
        prevHash: GENESIS_HASH,
        hashExists: async (hash: string) => events.some((e) => e.hash === hash),
        verifySignature: (checkpoint: CheckpointRecord) => checkpoint.signature === `signed:${checkpoint.hash}`,
      };
      const whole = await verifyChain({ ...common, events: streamOf(events) });
      const checked = await verifyChain({ ...common, checkedEvents: streamOf(events.map(checkEvent)) });
      expect(checked).toEqual(whole);
      if (i % 10 === 0) expect(whole.ok).toBe(true);
      reasons.add(whole.reason);
    }
    expect([...reasons].sort()).toEqual(['BAD_SIGNATURE', 'DELETED', 'INSERTED', 'MODIFIED', 'REORDERED', null].sort());
  });
});

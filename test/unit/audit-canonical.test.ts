import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalEvent, canonicalJson, eventHash, GENESIS_HASH } from '../../src/audit/chain.js';
import { prng, type Random } from '../support/prng.js';

// The chain's canonical form must be RFC 8785 to the byte, or exports stop verifying elsewhere.
// canonicalJson is our fast writer; the `canonicalize` package is the reference.

const STRINGS = [
  '',
  'a',
  'é',
  '€',
  '😀',
  '\u0000',
  '\u001f',
  '"',
  '\\',
  '\n',
  '\u2028',
  'z',
  'Z',
  '10',
  '1',
  'a\u0301',
  '\ud83d\ude00x',
  'key with space',
];
const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789.123, -5e-324, 2 ** 53, 1 / 3, 9007199254740993];

function value(random: Random, depth: number): unknown {
  const kind = random.int(depth > 3 ? 4 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick(NUMBERS);
    case 3:
      return random.some(STRINGS, 3).join('');
    case 4:
      return Array.from({ length: random.int(4) }, () => value(random, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: random.int(5) }, () => [random.some(STRINGS, 2).join(''), value(random, depth + 1)]));
  }
}

describe('canonicalJson', () => {
  it('writes exactly what the canonicalize package writes, on 20,000 random values', () => {
    const random = prng(20261124);
    for (let i = 0; i < 20_000; i++) {
      const sample = value(random, 0);
      expect(canonicalJson(sample)).toBe(canonicalize(sample));
    }
  });

  it('sorts members by UTF-16 code units, as RFC 8785 requires (a surrogate pair before U+FFFF)', () => {
    expect(canonicalJson({ '\u{1F600}': 1, '\uFFFF': 2, b: 3, a: 4, B: 5 })).toBe('{"B":5,"a":4,"b":3,"😀":1,"\uFFFF":2}');
  });
});

describe('canonicalEvent', () => {
  it('is the canonical JSON of the six chained fields', () => {
    const random = prng(7);
    for (let i = 0; i < 2_000; i++) {
      const event = {
        id: random.int(1e9),
        type: random.pick(['ACTION_REQUESTED', 'REVIEW_SUBMITTED']),
        actorId: random.chance(0.5) ? null : 'c1b7a5a0-1234-4c2a-9a9a-0d1f2e3a4b5c',
        requestId: random.chance(0.5) ? null : '67fd8102-1234-4c2a-9a9a-0d1f2e3a4b5c',
        data: value(random, 1),
        createdAt: '2026-11-24T05:01:39.983829Z',
      };
      expect(canonicalEvent(event)).toBe(canonicalize(event));
    }
  });

  it('chains: the hash covers the previous hash and the event', () => {
    const event = {
      id: 1,
      type: 'PRINCIPAL_CREATED',
      actorId: null,
      requestId: null,
      data: { name: 'admin' },
      createdAt: '2026-11-24T05:01:39.983829Z',
    };
    expect(eventHash(GENESIS_HASH, event)).toMatch(/^[0-9a-f]{64}$/);
    expect(eventHash(GENESIS_HASH, event)).not.toBe(eventHash('1'.repeat(64), event));
    expect(eventHash(GENESIS_HASH, event)).not.toBe(eventHash(GENESIS_HASH, { ...event, data: { name: 'admin ' } }));
  });
});

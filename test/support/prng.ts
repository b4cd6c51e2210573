/**
 * mulberry32: a small, fast, seeded pseudo-random generator, so randomised tests and benchmarks
 * are repeatable run after run.
 */
export function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chance = (p: number) => next() < p;
  /** Between 1 and `max` picks (with repetition). */
  const some = <T>(items: readonly T[], max: number): T[] => Array.from({ length: 1 + int(max) }, () => pick(items));
  return { next, int, pick, chance, some };
}

export type Random = ReturnType<typeof prng>;

/** A small deterministic PRNG (mulberry32): the same sequence for the same seed, so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer 0 .. n-1 from a {@link prng}. */
export const randomInt = (next: () => number, n: number): number => Math.floor(next() * n);

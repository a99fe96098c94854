/**
 * The one seeded PRNG of the tests: a linear congruential generator, so a random sequence that
 * fails can be run again exactly.
 */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

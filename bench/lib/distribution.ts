/** p50, p99 and mean of a sample (micro-benchmarks: nearest rank, no interpolation). */
export interface Dist {
  p50: number;
  p99: number;
  mean: number;
}

export function dist(samples: readonly number[]): Dist {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

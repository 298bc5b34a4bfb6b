/**
 * Quantiles of a Prometheus histogram over a window: the difference of two
 * scrapes' cumulative `_bucket` counts, interpolated linearly inside the
 * bucket the rank falls in (as PromQL's `histogram_quantile`). A rank in the
 * `+Inf` bucket answers the highest finite bound.
 */
import type { Metrics } from '../../test/support/metrics.ts';

export function histogramQuantileDelta(before: Metrics, after: Metrics, name: string, q: number): number {
  const counts = new Map<number, number>();
  for (const s of after.series(`${name}_bucket`)) {
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    counts.set(le, (counts.get(le) ?? 0) + s.value);
  }
  for (const s of before.series(`${name}_bucket`)) {
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    if (counts.has(le)) counts.set(le, (counts.get(le) ?? 0) - s.value);
  }
  return quantileOfBuckets([...counts].sort(([a], [b]) => a - b), q);
}

/** `buckets`: [upper bound, cumulative count] sorted by bound, the last one +Inf. NaN when empty. */
export function quantileOfBuckets(buckets: ReadonlyArray<readonly [number, number]>, q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket > 0 ? lowerBound + (le - lowerBound) * ((rank - lowerCount) / inBucket) : le;
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

/**
 * Seeded generators of label sets and selectors over a small vocabulary, so
 * random tests hit matches, misses, absent keys and empty values often.
 * Shared by the index and pool property tests.
 */
import type { LabelSelector, LabelSelectorRequirement, Labels } from '../../../src/labels/selector.ts';
export { seededRandom as mulberry32 } from '../../support/random.ts';

const keys = ['env', 'region', 'tier', 'gpu', 'team', 'flotilla.dev/workspace', 'constructor'] as const;
const values = ['prod', 'dev', 'eu', 'us', '', 'a', 'b'] as const;

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)] as T;
}

export function randomLabels(rand: () => number): Labels {
  const labels: Record<string, string> = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) labels[pick(rand, keys)] = pick(rand, values);
  return labels;
}

export function randomSelector(rand: () => number): LabelSelector | null {
  const r = rand();
  if (r < 0.05) return null;
  if (r < 0.1) return {};
  const selector: { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] } = {};
  if (rand() < 0.5) {
    selector.matchLabels = {};
    const n = 1 + Math.floor(rand() * 2);
    for (let i = 0; i < n; i++) selector.matchLabels[pick(rand, keys)] = pick(rand, values);
  }
  if (rand() < 0.7) {
    selector.matchExpressions = [];
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) {
      const operator = pick(rand, ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const);
      const key = pick(rand, keys);
      if (operator === 'In' || operator === 'NotIn') {
        const vs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(rand, values));
        selector.matchExpressions.push({ key, operator, values: vs });
      } else {
        selector.matchExpressions.push({ key, operator });
      }
    }
  }
  return selector;
}

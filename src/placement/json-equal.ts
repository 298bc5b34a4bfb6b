/**
 * Deep equality of JSON-shaped values, as the API server would see them:
 * object key order does not matter and an `undefined` member is the same as
 * an absent one (JSON serialisation drops both), while array order and every
 * value do matter. This is the comparison behind "write only when it
 * differs": anything that would change the stored object must compare
 * unequal, and nothing else may.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // Distinct primitives (or object vs primitive). NaN is not JSON; -0 and 0 serialise alike.
    return typeof a === 'number' && typeof b === 'number' && a === b;
  }
  const aIsArray = Array.isArray(a);
  if (aIsArray !== Array.isArray(b)) return false;
  if (aIsArray) {
    const x = a as readonly unknown[];
    const y = b as readonly unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      // JSON.stringify writes `undefined` array items as null.
      if (!jsonEqual(x[i] ?? null, y[i] ?? null)) return false;
    }
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let definedInX = 0;
  for (const key of Object.keys(x)) {
    const value = x[key];
    if (value === undefined) continue;
    definedInX++;
    if (!Object.hasOwn(y, key) || !jsonEqual(value, y[key])) return false;
  }
  let definedInY = 0;
  for (const key of Object.keys(y)) if (y[key] !== undefined) definedInY++;
  return definedInX === definedInY;
}

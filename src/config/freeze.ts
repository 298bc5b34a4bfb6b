/**
 * Configurations are shared by every component and compared across reloads;
 * freezing them turns an accidental mutation (which would silently diverge
 * from the file) into an immediate TypeError.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

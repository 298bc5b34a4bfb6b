/**
 * Locates the selector worker entry relative to this module, with the
 * extension this module runs with: `.ts` when Node runs the sources directly
 * (type stripping), `.js` once compiled to `dist/` (tsc rewrites relative
 * import extensions but not string URLs, hence the choice here).
 */
export function selectorWorkerUrl(moduleUrl: string = import.meta.url): URL {
  const ext = new URL(moduleUrl).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`../../../workers/selector-worker${ext}`, moduleUrl);
}

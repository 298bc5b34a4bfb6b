/** Label selectors (Kubernetes semantics), label validation and the selector index. */
export * from './validation.ts';
export * from './selector.ts';
export * from './selector-index.ts';

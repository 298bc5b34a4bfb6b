// Intentionally empty: bench/import-memory.ts imports it to measure what loading the first .ts module costs (type stripping).
export {};

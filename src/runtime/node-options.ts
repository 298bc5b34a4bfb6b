/**
 * V8 settings the controller runs with, in its Deployment
 * (config/manager/deployment.yaml sets them as NODE_OPTIONS; a unit test
 * keeps the two equal) and in the benchmarks, which measure what ships.
 *
 * `--max-semi-space-size=8` (MiB): V8 sizes the young generation from the
 * machine, up to 2 × 32 MiB semi-spaces, and once grown (module loading at
 * start-up does it) that memory stays resident though nearly empty after
 * every scavenge. 8 MiB semi-spaces measured: RSS −48 MiB for a fresh
 * controller after a 1,000-BundleDeployment start (bench/README.md,
 * "Controller memory"), no throughput difference beyond noise in a
 * parse-and-store microbenchmark of 300,000 BundleDeployments.
 *
 * `--max-old-space-size-percentage=75`: the old generation may use 3/4 of
 * the memory available — the container's limit in a pod (1 GiB as shipped:
 * 768 MiB of heap, the rest for the young generation, code and native
 * memory). V8's default is a quarter of it, 256 MiB, which a controller
 * caching 100,000 BundleDeployments (~2 KB each) would reach.
 */
export const CONTROLLER_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size-percentage=75';

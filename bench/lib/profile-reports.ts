/**
 * Whether a profiler's report holds any data: `npm run profile` must not
 * count an HTML page with nothing in it as a profile. clinic embeds its
 * analysis in the page as `<script type="application/json"
 * id="clinic-data">`; a run that recorded nothing still writes the page,
 * around an empty analysis (bubbleprof: no node but the root — what it
 * writes for our controller on Node 24, a page with one empty bubble, even
 * with megabytes of raw data collected; doctor: no process samples; flame:
 * no stacks). A `.cpuprofile` without samples is empty too.
 */
import type { CpuProfile } from './flamegraph.ts';

const CLINIC_DATA = /<script type="application\/json" id="clinic-data">([\s\S]*?)<\/script>/;

/** Why a clinic report is empty or unreadable, or undefined when it holds data. */
export function clinicReportProblem(html: string, tool: string): string | undefined {
  const m = CLINIC_DATA.exec(html);
  if (!m) return 'the report embeds no data (no clinic-data element: truncated or not a clinic report)';
  let data: unknown;
  try {
    data = JSON.parse(m[1] as string);
  } catch (err) {
    return `the report's data is not valid JSON (${(err as Error).message})`;
  }
  const d = data as Record<string, unknown> | null;
  const warnings = Array.isArray(d?.warnings) && d.warnings.length > 0 ? ` (clinic's warnings: ${d.warnings.join('; ')})` : '';
  if (tool === 'bubbleprof') {
    if (!Array.isArray(d?.data)) return `no bubbleprof analysis in the report${warnings}`;
    const nodes = (d.data as Array<{ nodes?: Array<{ mark?: unknown[] }> }>).flatMap((cluster) => cluster.nodes ?? []);
    const beyondRoot = nodes.filter((n) => !(Array.isArray(n.mark) && n.mark[0] === 'root')).length;
    if (beyondRoot === 0) return `bubbleprof's analysis holds no asynchronous operation (${nodes.length === 0 ? 'no node at all' : 'only the root node'}): the page shows an empty graph${warnings}`;
    return undefined;
  }
  if (tool === 'doctor') {
    if (!Array.isArray(d?.processStat) || d.processStat.length === 0) return `doctor recorded no process samples${warnings}`;
    return undefined;
  }
  return hasSamples(data) ? undefined : `the report's data is empty${warnings}`;
}

/** Anything beyond empty containers and zeros: a non-empty array, or a stack tree with children. */
function hasSamples(value: unknown, depth = 0): boolean {
  if (depth > 6 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.length > 0;
  return Object.values(value).some((v) => hasSamples(v, depth + 1));
}

/** Why a `.cpuprofile` is empty or unreadable, or undefined when it has samples. */
export function cpuProfileProblem(text: string): string | undefined {
  let profile: CpuProfile;
  try {
    profile = JSON.parse(text) as CpuProfile;
  } catch (err) {
    return `not valid JSON (${(err as Error).message}): the process was killed before writing it?`;
  }
  if (!Array.isArray(profile.nodes) || profile.nodes.length === 0) return 'no call tree';
  const samples = profile.samples?.length ?? profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  return samples === 0 ? 'no samples' : undefined;
}

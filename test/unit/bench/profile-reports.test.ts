import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clinicReportProblem, cpuProfileProblem } from '../../../bench/lib/profile-reports.ts';

const page = (data: string) => `<html><body><div></div><script type="application/json" id="clinic-data">${data}</script><script>/* app */</script></body></html>`;

test('an empty bubbleprof analysis is a failed report, with clinic\'s warnings', () => {
  const problem = clinicReportProblem(page('{"data":[\n],"httpRequests":[],"runtime":{},"warnings":["no trace events"]}'), 'bubbleprof');
  assert.match(problem ?? '', /no asynchronous activity/);
  assert.match(problem ?? '', /no trace events/);
  assert.equal(clinicReportProblem(page('{"data":[\n{"clusterId":1}],"httpRequests":[],"runtime":{},"warnings":[]}'), 'bubbleprof'), undefined);
});

test('doctor without process samples is empty; with samples it is a report', () => {
  assert.match(clinicReportProblem(page('{"traceEvent":[],"processStat":[],"analysis":{"issue":false}}'), 'doctor') ?? '', /no process samples/);
  assert.equal(clinicReportProblem(page('{"traceEvent":[],"processStat":[{"cpu":0.5}],"analysis":{}}'), 'doctor'), undefined);
});

test('a page without the data element, or with broken JSON, is reported as such', () => {
  assert.match(clinicReportProblem('<html></html>', 'flame') ?? '', /embeds no data/);
  assert.match(clinicReportProblem(page('{"data":['), 'bubbleprof') ?? '', /not valid JSON/);
  assert.match(clinicReportProblem(page('{"merged":{"children":[]},"unmerged":{"children":[]}}'), 'flame') ?? '', /empty/);
  assert.equal(clinicReportProblem(page('{"merged":{"children":[{"name":"x"}]}}'), 'flame'), undefined);
});

test('a .cpuprofile needs samples', () => {
  assert.equal(cpuProfileProblem('{"nodes":[{"id":1,"callFrame":{}}],"samples":[1],"startTime":0,"endTime":1}'), undefined);
  assert.equal(cpuProfileProblem('{"nodes":[{"id":1,"callFrame":{}}],"samples":[],"startTime":0,"endTime":1}'), 'no samples');
  assert.equal(cpuProfileProblem('{"nodes":[],"startTime":0,"endTime":1}'), 'no call tree');
  assert.match(cpuProfileProblem('{"nodes":[') ?? '', /not valid JSON/);
});

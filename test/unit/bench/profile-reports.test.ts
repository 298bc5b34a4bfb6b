import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clinicReportProblem, cpuProfileProblem } from '../../../bench/lib/profile-reports.ts';

const page = (data: string) => `<html><body><div></div><script type="application/json" id="clinic-data">${data}</script><script>/* app */</script></body></html>`;

// What clinic bubbleprof 10 wrote for the controller (label-flip, Node 24): one cluster holding only the root node.
const ROOT_ONLY = '{"clusterId":1,"parentClusterId":0,"name":"miscellaneous","children":[],"nodes":[{"aggregateId":1,"parentAggregateId":0,"name":null,"children":[],"mark":["root",null,null],"type":null,"frames":[],"sources":[{"asyncId":1}]}]}';
const WITH_WORK = '{"clusterId":2,"parentClusterId":1,"name":"src","children":[],"nodes":[{"aggregateId":2,"parentAggregateId":1,"mark":["user",null,null],"type":"PROMISE","frames":[{}]}]}';

test('a bubbleprof page with nothing but the root node is a failed report, with clinic\'s warnings', () => {
  const problem = clinicReportProblem(page(`{"data":[\n${ROOT_ONLY}],"httpRequests":[],"runtime":684.9,"warnings":[]}`), 'bubbleprof');
  assert.match(problem ?? '', /no asynchronous operation \(only the root node\)/);
  const none = clinicReportProblem(page('{"data":[\n],"httpRequests":[],"runtime":0,"warnings":["Truncating input data"]}'), 'bubbleprof');
  assert.match(none ?? '', /no node at all/);
  assert.match(none ?? '', /Truncating input data/);
  assert.equal(clinicReportProblem(page(`{"data":[\n${ROOT_ONLY},\n${WITH_WORK}],"httpRequests":[],"runtime":1,"warnings":[]}`), 'bubbleprof'), undefined);
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

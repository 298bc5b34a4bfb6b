import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupHierarchies } from '../../src/controlplane/node.ts';

test('cgroup hierarchies are read from mountinfo: v1 controllers, a hybrid unified mount, or pure v2', () => {
  const hybrid = [
    '30 24 0:26 / /sys/fs/cgroup rw,relatime shared:9 - tmpfs tmpfs rw,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:10 - cgroup cgroup rw,cpu',
    '32 30 0:28 / /sys/fs/cgroup/memory rw,relatime shared:11 - cgroup cgroup rw,memory',
    '33 30 0:29 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 cgroup2 rw',
    '40 24 0:40 / /proc rw,relatime - proc proc rw',
  ].join('\n');
  assert.deepEqual(cgroupHierarchies(hybrid), ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/unified']);
  assert.deepEqual(cgroupHierarchies('29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate'), ['/sys/fs/cgroup']);
  assert.deepEqual(cgroupHierarchies('40 24 0:40 / /proc rw,relatime - proc proc rw'), []);
});

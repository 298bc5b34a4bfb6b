import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main, UsageError } from '../../src/controlplane/cli.ts';

test('--with-node needs the controller manager, and says so before starting anything', async () => {
  await assert.rejects(main(['up', '--with-node', '--no-controller-manager', '--dir', '/nonexistent/flotilla-cli-test']), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /^--with-node needs kube-controller-manager .*drop --no-controller-manager\.$/);
    return true;
  });
});

test('the help names --with-node and how images get onto the node', async () => {
  const lines: string[] = [];
  const original = console.log;
  console.log = (line: string) => lines.push(line);
  try {
    assert.equal(await main(['--help']), 0);
  } finally {
    console.log = original;
  }
  assert.match(lines.join('\n'), /--with-node .*\n(.*\n)*.*images import ARCHIVE/);
  // Or the Flotilla image, built and imported in one step.
  assert.match(lines.join('\n'), /^ {2}image {4}Build Flotilla's container image .*\n(.*\n)*.*docker\.io\/library\/flotilla:latest/m);
});

test('an unknown command lists image among the commands', async () => {
  await assert.rejects(main(['imagine']), /expected up, down, status or image/);
});

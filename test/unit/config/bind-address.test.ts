import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBindAddress } from '../../../src/config/bind-address.ts';

describe('parseBindAddress', () => {
  it('parses the controller-runtime notations', () => {
    assert.deepEqual(parseBindAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseBindAddress('[::1]:9090'), { host: '::1', port: 9090 });
    assert.deepEqual(parseBindAddress('localhost:8081'), { host: 'localhost', port: 8081 });
  });

  it('treats 0 as disabled', () => {
    assert.equal(parseBindAddress('0'), null);
    assert.equal(parseBindAddress(0), null);
  });

  it('rejects what cannot be bound, naming the problem', () => {
    assert.throws(() => parseBindAddress('8080'), /expected "host:port"/);
    assert.throws(() => parseBindAddress(':65536'), /port must be an integer between 0 and 65535/);
    assert.throws(() => parseBindAddress('::1:80'), /IPv6 hosts in brackets/);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { destinationOf } from '../../src/queue/destination.js';

test('a destination is the lowercased ASCII domain of the address', () => {
  assert.equal(destinationOf('Bob@Example.COM'), 'example.com');
  assert.equal(destinationOf('bob@bücher.example'), 'xn--bcher-kva.example');
  assert.equal(destinationOf('bob@BÜCHER.example'), 'xn--bcher-kva.example');
  assert.equal(destinationOf('"a@b"@example.org'), 'example.org');
  assert.equal(destinationOf('bob@example.net.'), 'example.net');
});

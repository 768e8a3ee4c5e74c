import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTarget, isRefusedAddress, MAX_URL_LENGTH, TargetRefused } from '../../src/webhooks/webhook-target.js';

test('private, loopback, link-local, unique-local, CGNAT, multicast and unspecified addresses are refused, in both families', () => {
  for (const address of [
    '127.0.0.1', '127.8.9.10', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '100.127.255.254',
    '0.0.0.0', '224.0.0.1', '239.255.255.250', '255.255.255.255',
    '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::10.0.0.1',
  ]) {
    assert.equal(isRefusedAddress(address), true, `${address} should be refused`);
  }
  for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
    assert.equal(isRefusedAddress(address), false, `${address} should be allowed`);
  }
});

const refusedWith = (pattern: RegExp) => (error: unknown) => error instanceof TargetRefused && pattern.test(error.message);

test('URLs naming a refused address are refused, however the address is written', async () => {
  for (const url of ['http://127.0.0.1/hook', 'http://10.1.2.3/', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:8080/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0x7f.1/', 'http://100.64.1.1/']) {
    await assert.rejects(checkTarget(url, false), refusedWith(/private, loopback, link-local or reserved/), url);
  }
});

test('a host name is refused when any address it resolves to is refused', async () => {
  await assert.rejects(checkTarget('http://localhost:9/hook', false), refusedWith(/resolves to (127\.0\.0\.1|::1)/));
  const mixed = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }];
  await assert.rejects(checkTarget('https://rebind.example/hook', false, mixed), refusedWith(/10\.0\.0\.7/));
  const publicOnly = async () => [{ address: '93.184.216.34', family: 4 }];
  const ok = await checkTarget('https://hooks.example/in?x=1', false, publicOnly);
  assert.deepEqual([ok.address, ok.family, ok.host], ['93.184.216.34', 4, 'hooks.example']);
  const nowhere = async () => {
    throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
  };
  await assert.rejects(checkTarget('https://nowhere.invalid/', false, nowhere), refusedWith(/does not resolve/));
});

test('only absolute http and https URLs of bounded length are accepted', async () => {
  const publicOnly = async () => [{ address: '93.184.216.34', family: 4 }];
  for (const url of ['ftp://hooks.example/', 'file:///etc/passwd', 'javascript:alert(1)', 'hooks.example/path', '', 'http://']) {
    await assert.rejects(checkTarget(url, false, publicOnly), TargetRefused, url);
  }
  await assert.rejects(checkTarget(`https://hooks.example/${'a'.repeat(MAX_URL_LENGTH)}`, false, publicOnly), refusedWith(/longer than/));
});

test('the operator may allow private targets', async () => {
  const target = await checkTarget('http://127.0.0.1:8080/hook', true);
  assert.equal(target.address, '127.0.0.1');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseIP } from '../../../lib/ip/index.js';
import { diffPeers, peerIdentity, peerLabel } from '../../../lib/speaker/peers.js';
import { peer, selector } from './fixtures.js';

test('peerLabel is host:port, IPv6 in brackets', () => {
  assert.equal(peerLabel(peer('10.0.0.1')), '10.0.0.1:179');
  assert.equal(peerLabel(peer('2001:db8::1', { peerPort: 1179 })), '[2001:db8::1]:1179');
});

// any difference in parsed settings gives another identity
const variants: [string, Parameters<typeof peer>[1]][] = [
  ['my-asn', { myASN: 1 }],
  ['peer-asn', { peerASN: 2 }],
  ['port', { peerPort: 1179 }],
  ['source-address', { sourceAddress: mustParseIP('192.0.2.9') }],
  ['hold-time', { holdTimeSeconds: 30 }],
  ['keepalive', { keepaliveTimeSeconds: 10 }],
  ['router-id', { routerID: mustParseIP('1.2.3.4') }],
  ['selectors', { nodeSelectors: [selector({ rack: 'r1' })] }],
  ['password', { password: 'x' }],
  ['bfd-profile', { bfdProfile: 'p' }],
  ['ebgp-multihop', { ebgpMultihop: true }],
];
for (const [name, over] of variants) {
  test(`peer identity changes with ${name}`, () => {
    assert.notEqual(peerIdentity(peer('192.0.2.1', over)), peerIdentity(peer('192.0.2.1')));
  });
}

test('peer identity ignores match-labels key order', () => {
  const a = peer('192.0.2.1', { nodeSelectors: [selector({ a: '1', b: '2' })] });
  const b = peer('192.0.2.1', { nodeSelectors: [selector({ b: '2', a: '1' })] });
  assert.equal(peerIdentity(a), peerIdentity(b));
});

test('diffPeers keeps identical sessions, replaces changed ones, closes removed, opens new', () => {
  const a = peer('192.0.2.1');
  const b = peer('192.0.2.2');
  const c = peer('192.0.2.3');
  const b2 = peer('192.0.2.2', { holdTimeSeconds: 30 });
  const d = diffPeers([a, b, c], [peer('192.0.2.1'), b2]);
  assert.deepEqual(d.keep, [a], 'the running object is kept');
  assert.deepEqual(d.close.map(peerLabel).sort(), ['192.0.2.2:179', '192.0.2.3:179']);
  assert.deepEqual(d.open, [b2]);
});

test('diffPeers matches duplicate identical peers one to one', () => {
  const d = diffPeers([peer('192.0.2.1'), peer('192.0.2.1')], [peer('192.0.2.1')]);
  assert.equal(d.keep.length, 1);
  assert.equal(d.close.length, 1);
  assert.equal(d.open.length, 0);
});

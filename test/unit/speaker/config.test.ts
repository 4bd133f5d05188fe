import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBGPMode, speakerConfig } from '../../../lib/speaker/config.js';
import { decideService } from '../../../lib/speaker/decide.js';
import { readinessFromEndpoints } from '../../../lib/speaker/endpoints.js';
import { peersForNode } from '../../../lib/speaker/selectors.js';
import { service } from './fixtures.js';
import { SPEC_X1 } from '../../support/spec-examples.js';

// docs/behaviour/config.md#examples X1
const X1 = SPEC_X1;

test('METALLB_BGP_TYPE', () => {
  assert.equal(parseBGPMode(undefined), 'native');
  assert.equal(parseBGPMode(''), 'native');
  assert.equal(parseBGPMode('native'), 'native');
  // no FRR implementation: frr mode would accept bfd-profile and keepalive-time and ignore them
  assert.throws(() => parseBGPMode('frr'), /METALLB_BGP_TYPE=frr is refused: this speaker has no FRR implementation/);
  assert.throws(() => parseBGPMode('gobgp'), /METALLB_BGP_TYPE/);
});

test('X1 through the real parser: /32 with LOCAL_PREF 200 and no-export, to the one peer', () => {
  const r = speakerConfig(X1, 'native');
  assert.ok(r.ok, r.ok ? '' : r.reason);
  if (!r.ok) return;
  const eps = readinessFromEndpoints({ subsets: [{ addresses: [{ ip: '10.244.0.1', nodeName: 'node-a' }] }] });
  const d = decideService(
    { config: r.config, nodeName: 'node-a', usableSpeakers: null, peers: peersForNode(r.config.peers, {}) },
    { service: service({ ips: ['198.51.100.7'] }), endpoints: eps, previous: undefined },
  );
  assert.equal(d.action, 'announce');
  if (d.action !== 'announce' || d.announcement.protocol !== 'bgp') return assert.fail('expected bgp');
  assert.deepEqual(
    d.announcement.advertisements.map((a) => [a.prefix.toString(), a.localPref, a.communities]),
    [['198.51.100.7/32', 200, [65535 * 65536 + 65281]]],
  );
  assert.deepEqual(d.announcement.peers.map((p) => p.peerAddress.toString()), ['192.0.2.1']);
  // the layer2 pool's range and IPv6 CIDR
  for (const ip of ['192.0.2.100', '192.0.2.120', '2001:db8:1::f']) {
    const l2 = decideService(
      { config: r.config, nodeName: 'node-a', usableSpeakers: new Set(['node-a']), peers: [] },
      { service: service({ ips: [ip] }), endpoints: eps, previous: undefined },
    );
    assert.equal(l2.action === 'announce' && l2.announcement.protocol, 'layer2', ip);
  }
});

test('mode validators: native refuses what FRR accepts (E9 keepalive-time, E5 IPv6 bgp pool)', () => {
  const e9 = 'peers:\n- {my-asn: 64500, peer-asn: 64501, peer-address: 192.0.2.1, keepalive-time: 10s}\n';
  assert.equal(speakerConfig(e9, 'native').ok, false);
  assert.equal(speakerConfig(e9, 'frr').ok, true);
  const e5 = 'address-pools:\n- {name: v6, protocol: bgp, addresses: ["2001:db8::/120"]}\n';
  const native = speakerConfig(e5, 'native');
  assert.equal(native.ok, false);
  assert.ok(!native.ok && native.reason.length > 0);
  assert.equal(speakerConfig(e5, 'frr').ok, true);
});

test('empty or missing key is an empty valid config; broken YAML is refused with a reason', () => {
  for (const text of [undefined, '']) {
    const r = speakerConfig(text, 'native');
    assert.ok(r.ok);
    if (r.ok) assert.deepEqual([r.config.pools.length, r.config.peers.length], [0, 0]);
  }
  const bad = speakerConfig('address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.5]\n', 'native');
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && /address-pools/.test(bad.reason), !bad.ok ? bad.reason : '');
});

// The demo's fixed inputs: its configuration is one the controller and the native speaker accept,
// and every address it uses lies in a documentation range (the network-safety rule), with the
// layer2 pool inside the LAN (so ARP reaches it) and clear of the hosts' own addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { parseConfig, refusals, formatProblem } from '../../../lib/config/parse.js';
import { BGP_CIDR, CLIENT, DEMO_CONFIG, DEMO_SERVICES, LAYER2_RANGE, NODES, ROUTER } from '../../support/sandbox/demo.js';

const LAN = new BlockList();
LAN.addSubnet('198.51.100.0', 24);
const DOC = new BlockList();
DOC.addSubnet('192.0.2.0', 24);
DOC.addSubnet('198.51.100.0', 24);
DOC.addSubnet('203.0.113.0', 24);

test('the demo configuration is accepted by the controller and the native speaker', () => {
  const result = parseConfig(DEMO_CONFIG);
  for (const c of ['controller', 'native-speaker'] as const) {
    assert.deepEqual(refusals(result, c).map(formatProblem), [], `${c} refuses the demo config`);
  }
  const pools = result.config?.pools;
  assert.ok(pools, 'a validated config');
  const names = pools.map((p) => p.name);
  for (const s of DEMO_SERVICES) assert.ok(names.includes(s.pool), `pool ${s.pool} of ${s.name} exists`);
});

test('every demo address is a documentation address; the layer2 pool is inside the LAN and clear of the hosts', () => {
  const hosts = [ROUTER, CLIENT, ...NODES];
  for (const h of hosts) {
    assert.ok(LAN.check(h.ip, 'ipv4'), `${h.name} ${h.ip} on the LAN`);
    assert.equal(h.v4, `${h.ip}/24`);
    // locally administered, unicast
    const first = parseInt(h.mac.slice(0, 2), 16);
    assert.equal(first & 0b11, 0b10, `${h.name} MAC ${h.mac} is locally administered unicast`);
  }
  assert.equal(new Set(hosts.map((h) => h.name)).size, hosts.length);
  assert.equal(new Set(hosts.map((h) => h.mac)).size, hosts.length);
  const [from, to] = LAYER2_RANGE.split('-');
  assert.ok(from && to && LAN.check(from, 'ipv4') && LAN.check(to, 'ipv4'), `${LAYER2_RANGE} inside the LAN`);
  const lo = Number(from.split('.')[3]);
  const hi = Number(to.split('.')[3]);
  for (const h of hosts) {
    const last = Number(h.ip.split('.')[3]);
    assert.ok(last < lo || last > hi, `${h.name} ${h.ip} outside the layer2 pool`);
  }
  const [net, bits] = BGP_CIDR.split('/');
  assert.ok(net && DOC.check(net, 'ipv4') && Number(bits) >= 24, `${BGP_CIDR} is a documentation range`);
  assert.ok(!LAN.check(net, 'ipv4'), 'the bgp pool is routed, not on the LAN');
});

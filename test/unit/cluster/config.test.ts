// The cluster tier's and the demo's fixed inputs (test/support/cluster): the config is one the
// controller and the native speaker accept, and every address it uses lies in a documentation
// range (the network-safety rule), with the layer2 pool inside the LAN and clear of the hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { parseConfig, refusals, formatProblem } from '../../../lib/config/parse.js';
import { CLUSTER_CONFIG, LAYER2_RANGE } from '../../support/cluster/metallb.js';
import { APISERVER_IP, BGP_CIDR, CLIENT_IP, LAN_PREFIX, ROUTER_IP } from '../../support/cluster/cluster.js';

const DOC = new BlockList();
DOC.addSubnet('192.0.2.0', 24);
DOC.addSubnet('198.51.100.0', 24);
DOC.addSubnet('203.0.113.0', 24);

test('the cluster config is accepted by the controller and the native speaker', () => {
  const result = parseConfig(CLUSTER_CONFIG);
  for (const c of ['controller', 'native-speaker'] as const) {
    assert.deepEqual(refusals(result, c).map(formatProblem), [], `${c} refuses the cluster config`);
  }
  assert.deepEqual(result.config?.pools.map((p) => p.name), ['lan', 'routed']);
});

test('every address is a documentation address; the layer2 pool is inside the LAN and clear of the hosts', () => {
  const hosts = [ROUTER_IP, APISERVER_IP, CLIENT_IP, ...[1, 2, 3].map((i) => `${LAN_PREFIX}.${10 + i}`)];
  for (const h of hosts) assert.ok(DOC.check(h), `${h} is not a documentation address`);
  const [first, last] = LAYER2_RANGE.split('-') as [string, string];
  for (const a of [first, last]) {
    assert.ok(a.startsWith(`${LAN_PREFIX}.`), `${a} outside the LAN`);
    assert.ok(!hosts.includes(a), `${a} is a host address`);
  }
  for (const h of hosts) {
    const n = Number(h.split('.')[3]);
    assert.ok(n < Number(first.split('.')[3]) || n > Number(last.split('.')[3]), `host ${h} inside the layer2 pool`);
  }
  assert.ok(DOC.check(BGP_CIDR.split('/')[0]!), `${BGP_CIDR} is not a documentation range`);
});

// E2E: without CAP_NET_RAW the announcer refuses to start with an error that says so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetwork, requireRoot } from '../../support/sandbox/netns.js';
import { HOSTS, RESPONDER_SCRIPT, requireTools, LineProcess } from './helpers.js';

let net: TestNetwork | undefined;
after(() => net?.destroy());

test('a responder without CAP_NET_RAW fails at start, naming the missing capability', async () => {
  requireRoot('layer2 e2e tests');
  requireTools();
  net = TestNetwork.create('l2p', HOSTS.filter((h) => h.name === 'node1'));
  // root, but with CAP_NET_RAW removed from every capability set (setpriv is in util-linux)
  const child = net.spawn('node1', 'setpriv', ['--inh-caps=-net_raw', '--ambient-caps=-net_raw', '--bounding-set=-net_raw', '--',
    process.execPath, RESPONDER_SCRIPT]);
  const p = new LineProcess(child, 'responder without CAP_NET_RAW');
  const first = await p.next(15_000);
  assert.equal(first.event, 'error');
  assert.match(String(first.message), /Operation not permitted: the layer-2 announcer needs root or the CAP_NET_RAW capability/);
  const code = child.exitCode ?? await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 3);
});

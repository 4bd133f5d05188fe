// E2E: a client that already knows our MAC re-checks it with unicast probes (neighbour
// unreachability detection). Those probes are addressed to the service address itself; for
// IPv6 the kernel never hands them to the ICMPv6 socket, so the responder takes them off the
// wire. Unanswered, the client's entry would fail and traffic would stall until it re-resolved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetwork, requireRoot } from '../../support/sandbox/netns.js';
import { GRATUITOUS_DURATION_MS } from '../../../lib/layer2/index.js';
import { HOSTS, NODE1_MAC, requireTools, startResponder, sleep, type LineProcess } from './helpers.js';

const VIP4 = '198.51.100.230';
const VIP6 = 'fd00::230';
let net: TestNetwork;
let responder: LineProcess;

before(async () => {
  requireRoot('layer2 e2e tests');
  requireTools();
  net = TestNetwork.create('l2n', HOSTS.filter((h) => h.name !== 'node2'));
  // entries go stale after ~0.5 s and are probed 1 s after the next use
  net.exec('client', 'sysctl', ['-qw',
    'net.ipv6.neigh.eth0.base_reachable_time_ms=500', 'net.ipv6.neigh.eth0.delay_first_probe_time=1',
    'net.ipv4.neigh.eth0.base_reachable_time_ms=500', 'net.ipv4.neigh.eth0.delay_first_probe_time=1']);
  responder = await startResponder(net, 'node1');
  await responder.send({ cmd: 'announce', ips: [VIP4, VIP6] });
  await sleep(GRATUITOUS_DURATION_MS + 1000); // no gratuitous packets refreshing the entries
});
after(() => net?.destroy());

for (const ip of [VIP4, VIP6]) {
  test(`unicast probes for ${ip} are answered: the client's entry never fails`, async () => {
    const family = ip.includes(':') ? '-6' : '-4';
    net.execStatus('client', 'ping', [family, '-c', '1', '-W', '1', ip]); // resolves (nobody echoes: the address is not configured)
    assert.match(net.exec('client', 'ip', [family, 'neigh', 'show', ip]), new RegExp(`lladdr ${NODE1_MAC}`));
    await sleep(2000); // stale by now
    const states: string[] = [];
    const pinger = net.spawn('client', 'ping', [family, '-c', '8', '-i', '0.5', '-W', '1', ip]);
    for (let i = 0; i < 30; i++) {
      states.push(net.exec('client', 'ip', [family, 'neigh', 'show', ip]).trim().replace(/^\S+ dev eth0 /, ''));
      await sleep(100);
    }
    pinger.kill();
    const seen = [...new Set(states)];
    assert.ok(states.some((s) => /PROBE|DELAY/.test(s)), `the client re-checked the entry: ${seen.join(' | ')}`);
    assert.ok(!states.some((s) => /FAILED|INCOMPLETE/.test(s)), `no probe went unanswered: ${seen.join(' | ')}`);
    assert.match(states[states.length - 1], new RegExp(`lladdr ${NODE1_MAC}`));
  });
}

// Interop: our BGP sessions against FRR's bgpd (Debian package) in network namespaces, checked
// through FRR's own JSON output. One router namespace; one namespace per speaker role.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { TestNetwork } from '../../support/sandbox/netns.js';
import { mustParseIP } from '../../../lib/ip/index.js';
import { mergeRoutes, routesForAddress } from '../../../lib/bgp/advertisement.js';
import { decodeMessage, MessageFramer } from '../../../lib/bgp/codec.js';
import { FRR, SpeakerDriver, community, requireFRR, route, sleep, waitFor } from './harness.js';

const NO_EXPORT = community(65535, 65281);
const ROUTER = '198.51.100.1';

const FRR_CONFIG = `frr defaults traditional
hostname router
log file bgpd.log
router bgp 64500
 bgp router-id ${ROUTER}
 bgp log-neighbor-changes
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 3 9
 neighbor 198.51.100.11 remote-as 64512
 neighbor 198.51.100.11 timers connect 1
 neighbor 198.51.100.12 remote-as 64500
 neighbor 198.51.100.12 timers connect 1
 neighbor 198.51.100.13 remote-as 64512
 neighbor 198.51.100.13 password s3cret
 neighbor 198.51.100.13 timers connect 1
 neighbor 198.51.100.14 remote-as 64512
 neighbor 198.51.100.14 password s3cret
 neighbor 198.51.100.14 timers connect 1
 neighbor 198.51.100.16 remote-as 64512
 neighbor 198.51.100.16 timers connect 1
 neighbor 198.51.100.3 remote-as 64512
 neighbor 198.51.100.17 remote-as 64512
 neighbor 198.51.100.17 dont-capability-negotiate
 neighbor 198.51.100.17 timers connect 1
 neighbor 198.51.100.21 remote-as 64512
 neighbor 198.51.100.21 password s3cret
 neighbor 198.51.100.21 timers connect 1
 neighbor 198.51.100.3 timers connect 1
 neighbor 2001:db8::11 remote-as 64512
 neighbor 2001:db8::11 timers connect 1
 address-family ipv6 unicast
  neighbor 2001:db8::11 activate
 exit-address-family
`;

let net: TestNetwork;
let frr: FRR;
const drivers: SpeakerDriver[] = [];

function driver(host: string): SpeakerDriver {
  const d = new SpeakerDriver(net, host);
  drivers.push(d);
  return d;
}

async function established(d: SpeakerDriver, n = 1): Promise<void> {
  await waitFor(`session established ${n} time(s)`, () => (d.count('established') >= n ? true : undefined), 30_000, 50);
}

before(() => {
  requireFRR();
  net = TestNetwork.create('bgp', [
    { name: 'router', v4: `${ROUTER}/24`, v6: '2001:db8::1/64' },
    { name: 'node1', v4: '198.51.100.11/24', v6: '2001:db8::11/64' },
    { name: 'node2', v4: '198.51.100.12/24' },
    { name: 'node3', v4: '198.51.100.13/24' },
    { name: 'node4', v4: '198.51.100.14/24' },
    { name: 'node5', v4: '198.51.100.15/24' },
    { name: 'node6', v4: '198.51.100.16/24' },
    { name: 'node7', v4: '198.51.100.17/24' },
    { name: 'mitm', v4: '198.51.100.3/24' },
  ]);
  frr = new FRR(net, 'router', FRR_CONFIG);
  frr.start();
  return frr.waitReady();
});

after(async () => {
  try {
    await Promise.all(drivers.map((d) => d.close().catch(() => undefined)));
  } finally {
    net?.destroy();
    frr?.cleanup();
  }
});

let node1: SpeakerDriver;

test('eBGP: session reaches Established and FRR holds our /32s with next hop, AS path, origin and communities', async () => {
  node1 = driver('node1');
  await node1.waitEvent('ready');
  node1.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64512, holdTimeSeconds: 9 });
  node1.setRoutes([route('203.0.113.10/32', [NO_EXPORT, community(64512, 100)]), route('203.0.113.11/32')]);
  await established(node1);
  await waitFor('FRR neighbor Established', () => (frr.neighborState('198.51.100.11') === 'Established' ? true : undefined));
  await waitFor('both routes in FRR', () => (frr.prefixesFrom('198.51.100.11').length === 2 ? true : undefined));
  assert.deepEqual(frr.prefixesFrom('198.51.100.11'), ['203.0.113.10/32', '203.0.113.11/32']);
  const [p] = frr.route('203.0.113.10/32');
  assert.equal(p.asPath, '64512');
  assert.equal(p.asPathLength, 1);
  assert.equal(p.origin, 'incomplete');
  assert.deepEqual(p.nextHops, ['198.51.100.11']);
  assert.equal(p.communities, '64512:100 no-export');
  assert.equal(p.valid, true);
  assert.equal(frr.route('203.0.113.11/32')[0].communities, '');
  const est = node1.events.find((e) => e.event === 'established');
  assert.equal(est?.holdTime, 9);
  assert.equal(est?.routerID, '198.51.100.11', 'router ID derived from the local IPv4 address');
});

test('aggregation lengths produce the expected prefixes', async () => {
  const ads = [
    { aggregationLength: 32, aggregationLengthV6: 128, localPref: 0, communities: [] },
    { aggregationLength: 28, aggregationLengthV6: 124, localPref: 0, communities: [community(64512, 28)] },
  ];
  const merged = mergeRoutes(['203.0.113.20', '203.0.113.21', '203.0.113.40'].flatMap((ip) => routesForAddress(mustParseIP(ip), ads)));
  node1.setRoutes([...merged.values()].map((r) => route(r.prefix.toString(), [...r.communities], r.localPref)));
  const want = ['203.0.113.16/28', '203.0.113.20/32', '203.0.113.21/32', '203.0.113.32/28', '203.0.113.40/32'];
  await waitFor('aggregated set in FRR', () => (JSON.stringify(frr.prefixesFrom('198.51.100.11')) === JSON.stringify(want) ? true : undefined), 15_000);
  assert.equal(frr.route('203.0.113.16/28')[0].communities, '64512:28');
  assert.deepEqual(frr.route('203.0.113.32/28')[0].nextHops, ['198.51.100.11']);
});

test('withdrawals remove routes from FRR; re-announcing with new attributes replaces them', async () => {
  node1.setRoutes([route('203.0.113.20/32', [community(64512, 1)])]);
  await waitFor('only one route left', () => (JSON.stringify(frr.prefixesFrom('198.51.100.11')) === '["203.0.113.20/32"]' ? true : undefined), 15_000);
  await waitFor('new community', () => (frr.route('203.0.113.20/32')[0]?.communities === '64512:1' ? true : undefined), 15_000);
  node1.setRoutes([]);
  await waitFor('all withdrawn', () => (frr.prefixesFrom('198.51.100.11').length === 0 ? true : undefined), 15_000);
  assert.equal(frr.neighborState('198.51.100.11'), 'Established');
  node1.setRoutes([route('203.0.113.10/32', [NO_EXPORT])]);
  await waitFor('re-announced', () => (frr.prefixesFrom('198.51.100.11').length === 1 ? true : undefined), 15_000);
});

test('iBGP: Established; FRR holds the route with LOCAL_PREF, empty AS path, next hop and communities', async () => {
  const node2 = driver('node2');
  await node2.waitEvent('ready');
  node2.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64500, holdTimeSeconds: 9 });
  const [r] = routesForAddress(mustParseIP('203.0.113.100'), [{ aggregationLength: 32, aggregationLengthV6: 128, localPref: 200, communities: [NO_EXPORT] }]);
  node2.setRoutes([route(r.prefix.toString(), [...r.communities], r.localPref), route('203.0.113.101/32')]);
  await established(node2);
  await waitFor('iBGP routes in FRR', () => (frr.prefixesFrom('198.51.100.12').length === 2 ? true : undefined));
  const [p] = frr.route('203.0.113.100/32');
  assert.equal(p.asPathLength, 0, `AS path "${p.asPath}"`);
  assert.equal(p.localPref, 200);
  assert.equal(p.communities, 'no-export');
  assert.deepEqual(p.nextHops, ['198.51.100.12']);
  // LOCAL_PREF is always sent to iBGP peers, 0 when not configured (upstream behaviour)
  assert.equal(frr.route('203.0.113.101/32')[0].localPref, 0);
});

test('IPv6 prefix arrives through MP-BGP over an IPv6 session, with the IPv6 next hop', async () => {
  const v6 = driver('node1');
  await v6.waitEvent('ready');
  v6.start({ peerAddress: '2001:db8::1', peerASN: 64500, myASN: 64512, holdTimeSeconds: 9 });
  v6.setRoutes([route('2001:db8:200::10/128', [community(64512, 6)]), route('203.0.113.60/32')]);
  await established(v6);
  await waitFor('IPv6 route in FRR', () => (frr.prefixesFrom('2001:db8::11', 'ipv6').length === 1 ? true : undefined));
  const [p] = frr.route('2001:db8:200::10/128', 'ipv6');
  assert.equal(p.asPath, '64512');
  assert.ok(p.nextHops.includes('2001:db8::11'), `next hops ${p.nextHops.join(',')}`);
  assert.equal(p.communities, '64512:6');
  // an IPv4 route over the IPv6 session gets the IPv4 address of the same interface as next hop
  await waitFor('IPv4 route over the IPv6 session', () => (frr.prefixesFrom('2001:db8::11').length === 1 ? true : undefined));
  assert.deepEqual(frr.route('203.0.113.60/32').find((x) => x.peer === '2001:db8::11')?.nextHops, ['198.51.100.11']);
  const est = v6.events.find((e) => e.event === 'established');
  assert.deepEqual(est?.families, [4, 6]);
});

test('TCP MD5: the session comes up with the right password and stays down with a wrong one', async () => {
  const right = driver('node3');
  const wrong = driver('node4');
  await Promise.all([right.waitEvent('ready'), wrong.waitEvent('ready')]);
  right.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64512, holdTimeSeconds: 9, password: 's3cret' });
  wrong.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64512, holdTimeSeconds: 9, password: 'not-the-secret' });
  right.setRoutes([route('203.0.113.200/32')]);
  wrong.setRoutes([route('203.0.113.201/32')]);
  await established(right);
  await waitFor('MD5 route in FRR', () => (frr.prefixesFrom('198.51.100.13').length === 1 ? true : undefined));
  // the wrong key: SYNs are dropped by the router's kernel; give it several connect attempts
  await sleep(8000);
  assert.equal(wrong.count('established'), 0);
  assert.notEqual(frr.neighborState('198.51.100.14'), 'Established');
  assert.deepEqual(frr.prefixesFrom('198.51.100.14'), []);
});

test('source-address: the session runs from the configured local address (with MD5); a missing one keeps it down', async () => {
  net.exec('node3', 'ip', ['addr', 'add', '198.51.100.21/24', 'dev', 'eth0', 'nodad']);
  const d = driver('node3');
  const missing = driver('node3');
  await Promise.all([d.waitEvent('ready'), missing.waitEvent('ready')]);
  d.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64512, holdTimeSeconds: 9, password: 's3cret', sourceAddress: '198.51.100.21' });
  d.setRoutes([route('203.0.113.210/32')]);
  missing.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64512, holdTimeSeconds: 9, sourceAddress: '198.51.100.99' });
  await established(d);
  await waitFor('route from the source address', () => (frr.prefixesFrom('198.51.100.21').length === 1 ? true : undefined));
  assert.deepEqual(frr.route('203.0.113.210/32')[0].nextHops, ['198.51.100.21']);
  assert.equal(d.events.find((e) => e.event === 'established')?.routerID, '198.51.100.21');
  const down = await missing.waitEvent('down');
  assert.match(String(down.reason), /EADDRNOTAVAIL|address not available|assign requested address/i);
  assert.equal(missing.count('established'), 0);
  await missing.close();
});

test('a router that negotiates no capabilities: its bare OPEN is accepted (docs/behaviour/quirks.md#q7), AS_PATH goes out in 2-octet form, IPv6 is held back', async () => {
  const d = driver('node7');
  const diag = (): string => {
    execFileSync('sleep', ['2']); // let both sides log what happened
    return `\nours: ${JSON.stringify(d.events.slice(-10))}\nFRR log: ${frr.log().split('\n').filter((l) => l.includes('198.51.100.17')).slice(-10).join('\n')}`;
  };
  await d.waitEvent('ready');
  d.start({ peerAddress: ROUTER, peerASN: 64500, myASN: 64512, holdTimeSeconds: 9 });
  d.setRoutes([route('203.0.113.170/32', [NO_EXPORT]), route('2001:db8:200::170/128')]);
  await established(d);
  const est = d.events.find((e) => e.event === 'established');
  assert.equal(est?.fourOctetAS, false);
  assert.deepEqual(est?.families, [4]);
  await waitFor('route from the capability-less session', () => (frr.prefixesFrom('198.51.100.17').length === 1 ? true : undefined));
  const [p] = frr.route('203.0.113.170/32');
  assert.ok(p, `route gone again${diag()}`);
  assert.equal(p.asPath, '64512');
  assert.equal(p.communities, 'no-export');
  const rejected = await d.waitEvent('route-rejected');
  assert.equal(rejected.prefix, '2001:db8:200::170/128');
  // FRR sends this peer the other peers' routes, with a 4-octet AS_PATH although it announced no
  // capability: we must not reset the session over someone else's route (RFC 7606)
  await sleep(2000);
  assert.equal(d.count('notification-sent'), 0, `ours: ${JSON.stringify(d.events.slice(-5))}`);
  assert.equal(d.count('down'), 0);
  const n = frr.json<Record<string, Record<string, unknown>>>('show bgp neighbor 198.51.100.17')['198.51.100.17'];
  assert.equal(n?.bgpState, 'Established', `FRR: ${JSON.stringify({ lastResetDueTo: n?.lastResetDueTo, lastErrorCodeSubcode: n?.lastErrorCodeSubcode, lastNotificationReason: n?.lastNotificationReason })}${diag()}`);
  await d.close();
});

test('wrong peer AS in the OPEN: we send NOTIFICATION OPEN Error / Bad Peer AS and stay down', async () => {
  const d = driver('node6');
  await d.waitEvent('ready');
  d.start({ peerAddress: ROUTER, peerASN: 64999, myASN: 64512, holdTimeSeconds: 9 });
  await d.waitEvent('notification-sent', (e) => e.code === 2 && e.subcode === 2);
  assert.equal(d.count('established'), 0);
  assert.notEqual(frr.neighborState('198.51.100.16'), 'Established');
});

test('a peer that sends garbage gets a NOTIFICATION, and the session recovers with its routes', async () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'garbage-proxy.js');
  const proxy: ChildProcess = net.spawn('mitm', process.execPath, [script, '198.51.100.3', ROUTER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const proxyEvents: { event: string; hex?: string }[] = [];
  createInterface({ input: proxy.stdout as NodeJS.ReadableStream }).on('line', (l) => proxyEvents.push(JSON.parse(l) as { event: string; hex?: string }));
  await waitFor('proxy listening', () => proxyEvents.find((e) => e.event === 'listening'));
  const d = driver('node5');
  await d.waitEvent('ready');
  d.start({ peerAddress: '198.51.100.3', peerASN: 64500, myASN: 64512, holdTimeSeconds: 9 });
  d.setRoutes([route('203.0.113.130/32'), route('203.0.113.131/32')]);
  await established(d);
  await waitFor('routes through the relay', () => (frr.prefixesFrom('198.51.100.3').length === 2 ? true : undefined));
  // a message whose marker is not all ones
  proxy.stdin?.write(`${JSON.stringify({ op: 'inject', hex: '00'.repeat(16) + '001304' })}\n`);
  const answer = await waitFor('speaker answer', () => proxyEvents.find((e) => e.event === 'after-inject'));
  const msgs = new MessageFramer().push(Buffer.from(answer.hex ?? '', 'hex')).map((b) => decodeMessage(b));
  const notification = msgs.find((m) => m.type === 'notification');
  assert.ok(notification && notification.type === 'notification', `speaker sent ${JSON.stringify(msgs.map((m) => m.type))}`);
  assert.equal(notification.code, 1, 'Message Header Error');
  assert.equal(notification.subcode, 1, 'Connection Not Synchronized');
  await d.waitEvent('notification-sent', (e) => e.code === 1 && e.subcode === 1);
  // recovery: a new connection through the relay, routes restored
  await established(d, 2);
  await waitFor('routes restored', () => (frr.prefixesFrom('198.51.100.3').length === 2 ? true : undefined));
  assert.deepEqual(frr.prefixesFrom('198.51.100.3'), ['203.0.113.130/32', '203.0.113.131/32']);
});

test('hold timer: a frozen peer makes our hold timer expire (NOTIFICATION Hold Timer Expired), then we recover', async () => {
  const before = node1.count('established');
  frr.signal('SIGSTOP');
  try {
    await node1.waitEvent('notification-sent', (e) => e.code === 4 && e.subcode === 0, 20_000);
  } finally {
    frr.signal('SIGCONT');
  }
  await established(node1, before + 1);
  await waitFor('node1 route back', () => (frr.prefixesFrom('198.51.100.11').length === 1 ? true : undefined));
});

test('after FRR is restarted the sessions and routes come back', async () => {
  const downsBefore = node1.count('down');
  const estBefore = node1.count('established');
  await frr.stop();
  await node1.waitEvent('down', () => true, 30_000, node1.events.length - 1).catch(() => undefined);
  await waitFor('node1 saw the session go down', () => (node1.count('down') > downsBefore ? true : undefined));
  frr.start();
  await frr.waitReady();
  await established(node1, estBefore + 1);
  await waitFor('eBGP route restored', () => (JSON.stringify(frr.prefixesFrom('198.51.100.11')) === '["203.0.113.10/32"]' ? true : undefined));
  await waitFor('iBGP routes restored', () => (frr.prefixesFrom('198.51.100.12').length === 2 ? true : undefined));
  await waitFor('IPv6 route restored', () => (frr.prefixesFrom('2001:db8::11', 'ipv6').length === 1 ? true : undefined));
  await waitFor('MD5 route restored', () => (frr.prefixesFrom('198.51.100.13').length === 1 ? true : undefined));
  assert.equal(frr.route('203.0.113.100/32')[0].localPref, 200);
});

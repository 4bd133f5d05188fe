// E2E: the whole announcement path. Real kube-apiserver+etcd, the real controller, three node
// namespaces each running the real speaker (speaker ServiceAccount token, so manifests/metallb.yaml's
// RBAC is what it runs with), FRR's bgpd as the router, and a client using arping/ping.
// The tests run in order and share the cluster (start-up costs tens of seconds on 2 cores).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseIP } from '../../../lib/ip/index.js';
import { electionKeyForIPs, electionWinner } from '../../../lib/speaker/election.js';
import { NODE_IP, NODE_MAC, NODE_NAMES, ROUTER_IP, ASN, SpeakerCluster, metricValue, waitFor, type NodeName } from './env.js';

const APP_NS = 'demo';

// A layer 2 pool on the LAN, a bgp pool with LOCAL_PREF and communities, one iBGP peer (FRR).
function configText(opts: { l2Protocol?: 'layer2' | 'bgp'; peerSelector?: Record<string, string> } = {}): string {
  const selector = opts.peerSelector
    ? `  node-selectors:\n  - match-labels:\n${Object.entries(opts.peerSelector).map(([k, v]) => `      ${k}: "${v}"`).join('\n')}\n`
    : '';
  const l2Ads = opts.l2Protocol === 'bgp' ? '  bgp-advertisements:\n  - localpref: 120\n' : '';
  return `peers:
- peer-address: ${ROUTER_IP}
  peer-asn: ${ASN}
  my-asn: ${ASN}
${selector}bgp-communities:
  tenant: 64512:100
address-pools:
- name: lan
  protocol: ${opts.l2Protocol ?? 'layer2'}
  addresses:
  - 198.51.100.200-198.51.100.209
${l2Ads}- name: routed
  protocol: bgp
  addresses:
  - 203.0.113.0/28
  bgp-advertisements:
  - localpref: 150
    communities:
    - tenant
    - 64512:200
`;
}

function winnerFor(ip: string, nodes: readonly NodeName[]): NodeName {
  const w = electionWinner(nodes, electionKeyForIPs([mustParseIP(ip)]));
  assert.ok(w);
  return w as NodeName;
}

function macOf(node: NodeName): string {
  return NODE_MAC[node];
}

let c: SpeakerCluster;

before(async () => {
  c = await SpeakerCluster.start();
  await c.applyConfig(configText());
  for (const n of NODE_NAMES) await c.startSpeaker(n);
  await c.waitForMembers(NODE_NAMES);
  await c.ensureNamespace(APP_NS);
}, { timeout: 300_000 });

after(async () => {
  await c?.destroy();
});

let webIP = '';

test('seed walkthrough: layer2 pool, the controller assigns, arping reaches the elected node', { timeout: 180_000 }, async (t) => {
  const t0 = Date.now();
  await c.applyService(APP_NS, 'web', { pool: 'lan' });
  await c.applyEndpoints(APP_NS, 'web', [{ node: 'node2', ready: true, ip: '203.0.113.101' }]);
  webIP = await c.waitForIngress(APP_NS, 'web');
  t.diagnostic(`address ${webIP} assigned after ${Date.now() - t0} ms`);
  assert.match(webIP, /^198\.51\.100\.20\d$/);
  // Cluster policy: every live speaker is a candidate, wherever the endpoint is (docs/behaviour/layer2.md#owner)
  const owner = winnerFor(webIP, NODE_NAMES);
  const macs = await waitFor(`arping ${webIP} answered by ${owner}`, async () => {
    const got = await c.arping(webIP);
    return got.length > 0 && got.every((m) => m === macOf(owner)) ? got : undefined;
  }, 60_000, () => c.describeSpeakers());
  assert.ok(macs.length >= 1);
  t.diagnostic(`first ARP reply after ${Date.now() - t0} ms`);
  // exactly one node answers
  const again = await c.arping(webIP, 3);
  assert.deepEqual([...new Set(again)], [macOf(owner)]);
  // the announcing node writes nodeAssigned on the Service
  const ev = await waitFor('nodeAssigned event', async () => (await c.serviceEvents(APP_NS, 'web')).find((e) => e.reason === 'nodeAssigned'), 60_000);
  assert.equal(ev.message, `announcing from node "${owner}"`);
  assert.equal(ev.source?.component, 'metallb-speaker');
  t.diagnostic(`nodeAssigned event seen after ${Date.now() - t0} ms`);
});

test('failover: killing the announcing speaker moves the address; the client learns it by gratuitous ARP', { timeout: 240_000 }, async () => {
  assert.ok(webIP, 'needs the seed walkthrough');
  const owner = winnerFor(webIP, NODE_NAMES);
  await c.resolveFromClient(webIP);
  assert.equal(await c.neighbourMac(webIP), macOf(owner));
  const rest = NODE_NAMES.filter((n) => n !== owner);
  const next = winnerFor(webIP, rest);
  await c.stopSpeaker(owner, 'SIGKILL');
  // the client does not ask: only the new owner's gratuitous ARP can re-point its entry
  await waitFor(`client neighbour entry for ${webIP} -> ${next}`, async () => ((await c.neighbourMac(webIP)) === macOf(next) ? true : undefined), 90_000, () => c.describeSpeakers());
  await c.waitForMembers(rest);
  assert.deepEqual([...new Set(await c.arping(webIP, 3))], [macOf(next)]);
  const gratuitous = c.speaker(next).find((l) => l.op === 'layer2Announce' && l.ip === webIP);
  assert.ok(gratuitous, 'the new owner started answering for the address');

  // the node comes back: the election is deterministic, so it takes the address back
  await c.startSpeaker(owner);
  await c.waitForMembers(NODE_NAMES);
  await waitFor(`client neighbour entry for ${webIP} back to ${owner}`, async () => ((await c.neighbourMac(webIP)) === macOf(owner) ? true : undefined), 90_000, () => c.describeSpeakers());
  assert.deepEqual([...new Set(await c.arping(webIP, 3))], [macOf(owner)]);
});

test('externalTrafficPolicy Local: only a node with a ready endpoint announces', { timeout: 180_000 }, async () => {
  await c.applyService(APP_NS, 'local', { pool: 'lan', local: true });
  await c.applyEndpoints(APP_NS, 'local', [
    { node: 'node3', ready: true, ip: '203.0.113.111' },
    { node: 'node1', ready: false, ip: '203.0.113.112' },
  ]);
  const ip = await c.waitForIngress(APP_NS, 'local');
  await waitFor(`arping ${ip} answered by node3 only`, async () => {
    const got = await c.arping(ip);
    return got.length > 0 && got.every((m) => m === macOf('node3')) ? true : undefined;
  }, 60_000, () => c.describeSpeakers());
  // the endpoint moves to node1: node1 takes over, node3 stops
  await c.applyEndpoints(APP_NS, 'local', [
    { node: 'node3', ready: false, ip: '203.0.113.111' },
    { node: 'node1', ready: true, ip: '203.0.113.112' },
  ]);
  await waitFor(`arping ${ip} answered by node1 only`, async () => {
    const got = await c.arping(ip);
    return got.length > 0 && got.every((m) => m === macOf('node1')) ? true : undefined;
  }, 60_000, () => c.describeSpeakers());
  // no ready endpoint anywhere: nobody answers
  await c.applyEndpoints(APP_NS, 'local', [{ node: 'node1', ready: false, ip: '203.0.113.112' }]);
  await waitFor(`nobody answers for ${ip}`, async () => ((await c.arping(ip, 2)).length === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
  await c.deleteService(APP_NS, 'local');
});

test('metrics, and a bad config keeps the last good one', { timeout: 180_000 }, async () => {
  assert.ok(webIP, 'needs the seed walkthrough');
  const owner = winnerFor(webIP, NODE_NAMES);
  const series = { service: `${APP_NS}/web`, protocol: 'layer2', node: owner, ip: webIP };
  await waitFor(`metallb_speaker_announced on ${owner}`, async () => (metricValue(await c.metrics(owner), 'metallb_speaker_announced', series) === 1 ? true : undefined), 60_000);
  for (const n of NODE_NAMES.filter((x) => x !== owner)) {
    const text = await c.metrics(n);
    assert.equal(metricValue(text, 'metallb_speaker_announced', { ...series, node: n }), undefined, `${n} does not announce`);
    assert.equal(metricValue(text, 'metallb_k8s_client_config_loaded_bool'), 1);
    assert.equal(metricValue(text, 'metallb_k8s_client_config_stale_bool'), 0);
  }
  const ownerText = await c.metrics(owner);
  assert.ok((metricValue(ownerText, 'metallb_layer2_gratuitous_sent', { ip: webIP }) ?? 0) > 0, 'gratuitous ARP counted');
  assert.ok((metricValue(ownerText, 'metallb_layer2_responses_sent', { ip: webIP }) ?? 0) > 0, 'ARP replies counted');

  // an invalid config (unknown key) is refused by every speaker; the old one stays in force
  await c.applyConfig(`${configText()}bogus-key: 1\n`);
  for (const n of NODE_NAMES) {
    await waitFor(`${n} reports a stale config`, async () => (metricValue(await c.metrics(n), 'metallb_k8s_client_config_stale_bool') === 1 ? true : undefined), 60_000, () => c.describeSpeakers());
  }
  assert.deepEqual([...new Set(await c.arping(webIP, 2))], [macOf(owner)], 'still announced under the last good config');
  await c.applyConfig(configText());
  for (const n of NODE_NAMES) {
    await waitFor(`${n} back to a fresh config`, async () => (metricValue(await c.metrics(n), 'metallb_k8s_client_config_stale_bool') === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
  }
});

const allNodeIPs = NODE_NAMES.map((n) => NODE_IP[n]).sort();

test('bgp pool: FRR gets a route via every node (Cluster) or only endpoint nodes (Local), with LOCAL_PREF and communities', { timeout: 180_000 }, async () => {
  await waitFor('FRR sessions with all three speakers', () => (c.establishedPeers().length === 3 ? true : undefined), 90_000, () => `${c.frr.log().slice(-3000)}\n${c.describeSpeakers()}`);
  await c.applyService(APP_NS, 'routed', { pool: 'routed' });
  await c.applyEndpoints(APP_NS, 'routed', [{ node: 'node1', ready: true, ip: '203.0.113.121' }]);
  const ip = await c.waitForIngress(APP_NS, 'routed');
  assert.match(ip, /^203\.0\.113\./);
  const prefix = `${ip}/32`;
  const cluster = await waitFor(`${prefix} via all nodes`, () => {
    const p = c.routePaths(prefix);
    return p.nextHops.join(',') === allNodeIPs.join(',') ? p : undefined;
  }, 60_000, () => c.describeSpeakers());
  assert.deepEqual(cluster.localPrefs, [150, 150, 150]);
  for (const comm of cluster.communities) assert.equal(comm, '64512:100 64512:200');
  for (const n of NODE_NAMES) {
    const text = await c.metrics(n);
    assert.equal(metricValue(text, 'metallb_bgp_session_up', { peer: `${ROUTER_IP}:179` }), 1, `${n} session up`);
    assert.equal(metricValue(text, 'metallb_speaker_announced', { service: `${APP_NS}/routed`, protocol: 'bgp', node: n, ip }), 1);
  }

  await c.applyService(APP_NS, 'routed-local', { pool: 'routed', local: true });
  await c.applyEndpoints(APP_NS, 'routed-local', [
    { node: 'node2', ready: true, ip: '203.0.113.122' },
    { node: 'node3', ready: false, ip: '203.0.113.123' },
  ]);
  const localIP = await c.waitForIngress(APP_NS, 'routed-local');
  await waitFor(`${localIP}/32 via node2 only`, () => (c.routePaths(`${localIP}/32`).nextHops.join(',') === NODE_IP.node2 ? true : undefined), 60_000, () => c.describeSpeakers());
  // the Local service's endpoint becomes ready on node3 too: a second path appears
  await c.applyEndpoints(APP_NS, 'routed-local', [
    { node: 'node2', ready: true, ip: '203.0.113.122' },
    { node: 'node3', ready: true, ip: '203.0.113.123' },
  ]);
  await waitFor(`${localIP}/32 via node2 and node3`, () => (c.routePaths(`${localIP}/32`).nextHops.join(',') === [NODE_IP.node2, NODE_IP.node3].join(',') ? true : undefined), 60_000, () => c.describeSpeakers());
  await c.deleteService(APP_NS, 'routed-local');
  await waitFor(`${localIP}/32 withdrawn`, () => (c.routePaths(`${localIP}/32`).nextHops.length === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
});

test('node-selectors limit which nodes peer; a label change opens the session', { timeout: 180_000 }, async () => {
  await c.setNodeLabels('node1', { bgp: 'yes' });
  await c.setNodeLabels('node2', { bgp: 'yes' });
  await c.applyConfig(configText({ peerSelector: { bgp: 'yes' } }));
  const routedIP = await c.waitForIngress(APP_NS, 'routed');
  const prefix = `${routedIP}/32`;
  await waitFor('only node1 and node2 peer', () => (c.establishedPeers().join(',') === [NODE_IP.node1, NODE_IP.node2].join(',') ? true : undefined), 90_000, () => c.describeSpeakers());
  await waitFor(`${prefix} via node1 and node2`, () => (c.routePaths(prefix).nextHops.join(',') === [NODE_IP.node1, NODE_IP.node2].join(',') ? true : undefined), 60_000);
  await c.setNodeLabels('node3', { bgp: 'yes' });
  await waitFor('node3 peers after its label change', () => (c.establishedPeers().length === 3 ? true : undefined), 90_000, () => c.describeSpeakers());
  await waitFor(`${prefix} via all nodes`, () => (c.routePaths(prefix).nextHops.join(',') === allNodeIPs.join(',') ? true : undefined), 60_000);
  await c.applyConfig(configText());
});

test('moving a pool from layer2 to bgp and back', { timeout: 240_000 }, async () => {
  assert.ok(webIP, 'needs the seed walkthrough');
  const owner = winnerFor(webIP, NODE_NAMES);
  await waitFor('all three peers up', () => (c.establishedPeers().length === 3 ? true : undefined), 90_000, () => c.describeSpeakers());
  await c.applyConfig(configText({ l2Protocol: 'bgp' }));
  const prefix = `${webIP}/32`;
  await waitFor(`${prefix} via all nodes after the move to bgp`, () => (c.routePaths(prefix).nextHops.join(',') === allNodeIPs.join(',') ? true : undefined), 60_000, () => c.describeSpeakers());
  assert.deepEqual(c.routePaths(prefix).localPrefs, [120, 120, 120]);
  await waitFor(`nobody answers ARP for ${webIP}`, async () => ((await c.arping(webIP, 2)).length === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
  await c.applyConfig(configText());
  await waitFor(`${prefix} withdrawn after the move back`, () => (c.routePaths(prefix).nextHops.length === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
  await waitFor(`arping ${webIP} answered by ${owner} again`, async () => {
    const got = await c.arping(webIP);
    return got.length > 0 && got.every((m) => m === macOf(owner)) ? true : undefined;
  }, 60_000, () => c.describeSpeakers());
});

test('deleting the Service withdraws everywhere', { timeout: 180_000 }, async () => {
  const routedIP = await c.waitForIngress(APP_NS, 'routed');
  await waitFor(`${routedIP}/32 present`, () => (c.routePaths(`${routedIP}/32`).nextHops.length === 3 ? true : undefined), 60_000);
  await c.deleteService(APP_NS, 'routed');
  await c.deleteService(APP_NS, 'web');
  await waitFor(`${routedIP}/32 withdrawn from FRR`, () => (c.routePaths(`${routedIP}/32`).nextHops.length === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
  await waitFor(`nobody answers ARP for ${webIP}`, async () => ((await c.arping(webIP, 2)).length === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
});

test('SIGTERM: the speaker leaves gossip, withdraws its routes and stops answering', { timeout: 240_000 }, async () => {
  await c.applyService(APP_NS, 'term-l2', { pool: 'lan' });
  await c.applyEndpoints(APP_NS, 'term-l2', [{ node: 'node1', ready: true, ip: '203.0.113.131' }]);
  await c.applyService(APP_NS, 'term-bgp', { pool: 'routed' });
  await c.applyEndpoints(APP_NS, 'term-bgp', [{ node: 'node1', ready: true, ip: '203.0.113.132' }]);
  const l2IP = await c.waitForIngress(APP_NS, 'term-l2');
  const bgpIP = await c.waitForIngress(APP_NS, 'term-bgp');
  const owner = winnerFor(l2IP, NODE_NAMES);
  await waitFor(`${bgpIP}/32 via all nodes`, () => (c.routePaths(`${bgpIP}/32`).nextHops.length === 3 ? true : undefined), 90_000, () => c.describeSpeakers());
  await waitFor(`arping ${l2IP} answered by ${owner}`, async () => {
    const got = await c.arping(l2IP);
    return got.length > 0 && got.every((m) => m === macOf(owner)) ? true : undefined;
  }, 60_000, () => c.describeSpeakers());

  const code = await c.stopSpeaker(owner, 'SIGTERM');
  assert.equal(code, 0, c.speaker(owner).describe());
  const sp = c.speaker(owner);
  assert.ok(sp.find((l) => l.msg === 'left the memberlist cluster'), sp.describe());
  const rest = NODE_NAMES.filter((n) => n !== owner);
  // the others saw a graceful leave (not a failure detected by probes)
  for (const n of rest) {
    await waitFor(`${n} saw ${owner} leave`, () => (c.speaker(n).find((l) => l.op === 'memberDiscovery' && l.event === 'leave' && l.node === owner) ? true : undefined), 30_000, () => c.describeSpeakers());
  }
  // the session ended with a NOTIFICATION (Cease), not just a closed TCP connection
  const neighbour = c.frr.json<Record<string, Record<string, unknown>>>(`show bgp neighbor ${NODE_IP[owner]}`)[NODE_IP[owner]];
  assert.match(String(neighbour?.lastResetDueTo ?? ''), /notification|cease/i, JSON.stringify({ lastResetDueTo: neighbour?.lastResetDueTo, lastNotificationReason: neighbour?.lastNotificationReason }));
  const remaining = rest.map((n) => NODE_IP[n]).sort().join(',');
  await waitFor(`${bgpIP}/32 no longer via ${owner}`, () => (c.routePaths(`${bgpIP}/32`).nextHops.join(',') === remaining ? true : undefined), 30_000, () => c.describeSpeakers());
  const next = winnerFor(l2IP, rest);
  await waitFor(`arping ${l2IP} answered by ${next} only`, async () => {
    const got = await c.arping(l2IP);
    return got.length > 0 && got.every((m) => m === macOf(next)) ? true : undefined;
  }, 60_000, () => c.describeSpeakers());
});

test('--disable-epslices: the speaker reads core/v1 Endpoints instead of EndpointSlices', { timeout: 180_000 }, async () => {
  const node = NODE_NAMES.find((n) => !c.speaker(n).running) ?? 'node3';
  if (c.speaker(node).running) await c.stopSpeaker(node, 'SIGTERM');
  const sp = await c.startSpeaker(node, ['--disable-epslices']);
  await c.waitForMembers(NODE_NAMES);
  assert.ok(sp.find((l) => l.endpoints === 'endpoints'), sp.describe());
  // Local policy with an Endpoints object only (no slice): only the speaker reading Endpoints
  // sees a ready endpoint on its node; the others see no slice and treat the Service as gone
  await c.applyService(APP_NS, 'eps', { pool: 'lan', local: true });
  await c.applyCoreEndpoints(APP_NS, 'eps', [{ node, ready: true, ip: '203.0.113.141' }]);
  const ip = await c.waitForIngress(APP_NS, 'eps');
  await waitFor(`arping ${ip} answered by ${node}`, async () => {
    const got = await c.arping(ip);
    return got.length > 0 && got.every((m) => m === macOf(node)) ? true : undefined;
  }, 60_000, () => c.describeSpeakers());
  // the endpoint turns not ready: withdrawn
  await c.applyCoreEndpoints(APP_NS, 'eps', [{ node, ready: false, ip: '203.0.113.141' }]);
  await waitFor(`nobody answers for ${ip}`, async () => ((await c.arping(ip, 2)).length === 0 ? true : undefined), 60_000, () => c.describeSpeakers());
});

test('RBAC: the speakers ran with the speaker ServiceAccount and were never refused', () => {
  for (const n of NODE_NAMES) {
    const refused = c.speaker(n).problems.filter((l) => /forbidden|\b403\b/i.test(l));
    assert.deepEqual(refused, [], `${n} was refused by the API server`);
    assert.ok(c.speaker(n).find((l) => l.msg === 'caches synced'), `${n} synced its caches`);
  }
});

// E2E: node.kubernetes.io/exclude-from-external-load-balancers and loadBalancerClass with real
// speakers in node namespaces, the real controller and FRR. A labelled node stops announcing
// (layer 2 and BGP), leaves gossip (the other speakers' views drop it) and is no longer elected;
// removing the label brings it back. A Service of another loadBalancerClass whose status another
// implementation filled with an address of our pool is answered by nobody.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseIP } from '../../../lib/ip/index.js';
import { electionKeyForIPs, electionWinner } from '../../../lib/speaker/election.js';
import { EXCLUDE_LB_LABEL } from '../../../lib/k8s/ownership.js';
import { NODE_IP, NODE_MAC, NODE_NAMES, ROUTER_IP, ASN, SpeakerCluster, metricValue, waitFor, type NodeName } from './env.js';

const CONFIG = `peers:
- peer-address: ${ROUTER_IP}
  peer-asn: ${ASN}
  my-asn: ${ASN}
address-pools:
- name: lan
  protocol: layer2
  addresses: [198.51.100.200-198.51.100.209]
- name: routed
  protocol: bgp
  addresses: [203.0.113.0/28]
`;
const APP = 'excl';
let c: SpeakerCluster;

const winner = (ip: string, nodes: readonly NodeName[]): NodeName => electionWinner(nodes, electionKeyForIPs([mustParseIP(ip)])) as NodeName;

async function answeredBy(ip: string, node: NodeName): Promise<void> {
  await waitFor(`arping ${ip} answered only by ${node}`, async () => {
    const got = await c.arping(ip);
    return got.length > 0 && got.every((m) => m === NODE_MAC[node]) ? true : undefined;
  }, 90_000, () => c.describeSpeakers());
}

before(async () => {
  c = await SpeakerCluster.start({ memberlistTimers: 'fast' });
  await c.applyConfig(CONFIG);
  for (const n of NODE_NAMES) await c.startSpeaker(n);
  await c.waitForMembers(NODE_NAMES);
  await c.ensureNamespace(APP);
}, { timeout: 300_000 });

after(async () => {
  await c?.destroy();
});

test('an excluded node stops announcing, leaves gossip and is not elected; without the label it takes back', { timeout: 300_000 }, async () => {
  await c.applyService(APP, 'web', { pool: 'lan' });
  await c.applyEndpoints(APP, 'web', NODE_NAMES.map((n, i) => ({ node: n, ready: true, ip: `10.244.0.${i + 1}` })));
  await c.applyService(APP, 'api', { pool: 'routed' });
  await c.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'api-abcde', namespace: APP, labels: { 'kubernetes.io/service-name': 'api' } },
    addressType: 'IPv4', endpoints: NODE_NAMES.map((n, i) => ({ addresses: [`10.244.1.${i + 1}`], conditions: { ready: true }, nodeName: n })), ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  }) });
  const ip = await c.waitForIngress(APP, 'web');
  const apiIP = await c.waitForIngress(APP, 'api');
  const owner = winner(ip, NODE_NAMES);
  await answeredBy(ip, owner);
  await waitFor(`${apiIP}/32 via all three nodes`, () => (c.routePaths(`${apiIP}/32`).nextHops.length === 3 ? true : undefined), 90_000, () => c.describeSpeakers());

  await c.setNodeLabels(owner, { [EXCLUDE_LB_LABEL]: '' });
  const rest = NODE_NAMES.filter((n) => n !== owner);
  await answeredBy(ip, winner(ip, rest));
  await waitFor(`${apiIP}/32 no longer via ${owner}`, () => {
    const hops = c.routePaths(`${apiIP}/32`).nextHops;
    return hops.length === 2 && !hops.includes(NODE_IP[owner]) ? true : undefined;
  }, 90_000, () => c.describeSpeakers());
  await c.waitForMembers(rest);
  assert.equal(metricValue(await c.metrics(owner), 'metallb_speaker_node_excluded_bool'), 1);
  assert.match(await c.metrics(owner), /^metallb_bgp_session_up\{peer="[^"]+"\} 1$/m, 'the session stays up');
  assert.equal(metricValue(await c.metrics(rest[0]), 'metallb_speaker_memberlist_members', { member: owner }), undefined, 'the others no longer see it');

  await c.setNodeLabels(owner, {});
  await c.waitForMembers(NODE_NAMES);
  await answeredBy(ip, owner);
  await waitFor(`${apiIP}/32 via all three nodes again`, () => (c.routePaths(`${apiIP}/32`).nextHops.length === 3 ? true : undefined), 90_000, () => c.describeSpeakers());
  assert.equal(metricValue(await c.metrics(owner), 'metallb_speaker_node_excluded_bool'), 0);
});

test('a Service of another loadBalancerClass is not announced, even with an address of our pool', { timeout: 120_000 }, async () => {
  const ip = '198.51.100.209';
  await c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'other', namespace: APP }, spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/other', selector: { app: 'other' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] } });
  await c.applyEndpoints(APP, 'other', NODE_NAMES.map((n, i) => ({ node: n, ready: true, ip: `10.244.2.${i + 1}` })));
  // what the other implementation would write
  await c.cp.kubectl(['patch', 'service', '-n', APP, 'other', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip }] } } })]);
  // the speakers saw the status (their Service caches are current once a later change shows up)
  await c.applyService(APP, 'marker', { pool: 'lan' });
  await c.applyEndpoints(APP, 'marker', [{ node: 'node1', ready: true, ip: '10.244.3.1' }]);
  const markerIP = await c.waitForIngress(APP, 'marker');
  await answeredBy(markerIP, winner(markerIP, NODE_NAMES));
  assert.deepEqual(await c.arping(ip, 3), [], 'nobody answers for the other class');
  for (const n of NODE_NAMES) assert.ok(!(await c.metrics(n)).includes(`service="${APP}/other"`), n);
});

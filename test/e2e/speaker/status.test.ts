// E2E: `metallbctl status` against the whole system — real API server (whose pods/proxy reaches
// the speakers' /metrics inside the test network), the real controller, three real speakers and
// FRR — run with the read-only Role's token: the layer 2 owner and the BGP nodes with the peer
// holding their routes, every speaker's memberlist view; a failover (the owner's speaker is
// killed: status names the new owner); a BGP session down (status reports it, exit 1).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mustParseIP } from '../../../lib/ip/index.js';
import { electionKeyForIPs, electionWinner } from '../../../lib/speaker/election.js';
import type { StatusReport } from '../../../lib/cli/status.js';
import { NODE_IP, NODE_NAMES, ROUTER_IP, ASN, NS, SpeakerCluster, root, waitFor, type NodeName } from './env.js';

const execFileAsync = promisify(execFile);
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
const APP = 'stat';
let c: SpeakerCluster;
let kubeconfig: string;

async function status(): Promise<{ code: number; report: StatusReport; text: string }> {
  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await execFileAsync(process.execPath, [join(root, 'dist', 'bin', 'metallbctl.js'), 'status', '--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  const j = await run(['-o', 'json']);
  assert.ok(j.code === 0 || j.code === 1, `status exit ${j.code}: ${j.stderr}`);
  const t = await run([]);
  return { code: j.code, report: JSON.parse(j.stdout) as StatusReport, text: t.stdout };
}

const winner = (ip: string, nodes: readonly NodeName[]): NodeName => electionWinner(nodes, electionKeyForIPs([mustParseIP(ip)])) as NodeName;

before(async () => {
  c = await SpeakerCluster.start({ memberlistTimers: 'fast', podProxy: true });
  await c.cp.kubectl(['apply', '-f', join(root, 'manifests', 'metallbctl-status-rbac.yaml')]);
  kubeconfig = await c.cp.serviceAccountKubeconfig(NS, 'metallbctl-status');
  await c.applyConfig(CONFIG);
  for (const n of NODE_NAMES) await c.startSpeaker(n);
  await c.waitForMembers(NODE_NAMES);
  await c.ensureNamespace(APP);
}, { timeout: 300_000 });

after(async () => {
  await c?.destroy();
});

let webIP = '';

test('status: layer 2 owner, BGP nodes and the peer holding the route, memberlist views; no problems', { timeout: 180_000 }, async () => {
  await c.applyService(APP, 'web', { pool: 'lan' });
  await c.applyEndpoints(APP, 'web', NODE_NAMES.map((n, i) => ({ node: n, ready: true, ip: `10.244.0.${i + 1}` })));
  await c.applyService(APP, 'api', { pool: 'routed' });
  await c.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'api-abcde', namespace: APP, labels: { 'kubernetes.io/service-name': 'api' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.1'], conditions: { ready: true }, nodeName: 'node1' }, { addresses: ['10.244.1.2'], conditions: { ready: true }, nodeName: 'node2' }], ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  }) });
  webIP = await c.waitForIngress(APP, 'web');
  await c.waitForIngress(APP, 'api');
  const owner = winner(webIP, NODE_NAMES);
  // the prefix counters follow the sessions within a second: wait until the router holds all three
  const s = await waitFor('status without problems, the router holding every node\'s route', async () => {
    const r = await status();
    return r.code === 0 && r.report.services.find((x) => x.service === `${APP}/api`)?.peers.length === NODE_NAMES.length ? r : undefined;
  }, 120_000, () => c.describeSpeakers());
  const web = s.report.services.find((x) => x.service === `${APP}/web`);
  assert.deepEqual({ by: web?.announcedBy, pool: web?.pool, protocol: web?.protocol }, { by: [owner], pool: 'lan', protocol: 'layer2' });
  const api = s.report.services.find((x) => x.service === `${APP}/api`);
  assert.deepEqual(api?.announcedBy, [...NODE_NAMES], 'BGP, Cluster policy: every speaker advertises');
  for (const n of NODE_NAMES) assert.ok(api?.peers.some((p) => p.startsWith(`${n} -> `) && p.includes(ROUTER_IP)), `${n} -> router in ${api?.peers.join(', ')}`);
  assert.deepEqual(s.report.speakers.map((x) => [x.node, x.members.join(',')]), NODE_NAMES.map((n) => [n, NODE_NAMES.join(',')]));
  assert.equal(s.report.config.state, 'in-force');
  assert.match(s.text, new RegExp(`${APP}/web\\s+${webIP.replace(/\./g, '\\.')}\\s+lan\\s+layer2\\s+${owner}`));
});

test('status after a failover: the killed owner\'s speaker is unreachable, the new owner is shown', { timeout: 180_000 }, async () => {
  const owner = winner(webIP, NODE_NAMES);
  await c.stopSpeaker(owner, 'SIGKILL');
  const rest = NODE_NAMES.filter((n) => n !== owner);
  const next = winner(webIP, rest);
  const s = await waitFor(`status names ${next} as the owner`, async () => {
    const r = await status();
    const web = r.report.services.find((x) => x.service === `${APP}/web`);
    return web?.announcedBy.length === 1 && web.announcedBy[0] === next ? r : undefined;
  }, 120_000, () => c.describeSpeakers());
  assert.equal(s.code, 1);
  assert.equal(s.report.speakers.find((x) => x.node === owner)?.reachable, false);
  assert.ok(s.report.problems.some((p) => p.startsWith(`speaker speaker-${owner} on ${owner}:`)), s.report.problems.join('\n'));
  for (const n of rest) assert.deepEqual(s.report.speakers.find((x) => x.node === n)?.members, [...rest].sort());
  await c.startSpeaker(owner);
  await c.waitForMembers(NODE_NAMES);
});

test('status with a BGP session down: the session and the route it no longer carries are reported', { timeout: 180_000 }, async () => {
  c.frr.vtysh('configure terminal', `router bgp ${ASN}`, `neighbor ${NODE_IP.node1} shutdown`);
  try {
    const s = await waitFor('status reports node1\'s session down', async () => {
      const r = await status();
      const down = r.report.speakers.find((x) => x.node === 'node1')?.sessions.some((ses) => !ses.up);
      const peers = r.report.services.find((x) => x.service === `${APP}/api`)?.peers ?? [];
      // the other nodes' sessions are up (the restarted speaker's may take a moment)
      return down && peers.length === NODE_NAMES.length - 1 ? r : undefined;
    }, 120_000, () => c.describeSpeakers());
    assert.equal(s.code, 1);
    assert.ok(s.report.problems.some((p) => p.startsWith('speaker on node1: BGP session to') && p.endsWith('is down')), s.report.problems.join('\n'));
    const api = s.report.services.find((x) => x.service === `${APP}/api`);
    assert.ok(api?.peers.every((p) => !p.startsWith('node1 ->')), api?.peers.join(', '));
    assert.deepEqual(api?.peers.map((p) => p.split(' ')[0]).sort(), ['node2', 'node3']);
    assert.match(s.text, /DOWN/);
  } finally {
    c.frr.vtysh('configure terminal', `router bgp ${ASN}`, `no neighbor ${NODE_IP.node1} shutdown`);
  }
  await waitFor('status clean again', async () => ((await status()).code === 0 ? true : undefined), 120_000, () => c.describeSpeakers());
});

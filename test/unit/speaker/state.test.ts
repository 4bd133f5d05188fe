import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Config } from '../../../lib/config/types.js';
import { readinessFromEndpoints, type EndpointReadiness } from '../../../lib/speaker/endpoints.js';
import { SpeakerState, type ServiceEffects } from '../../../lib/speaker/state.js';
import { peerLabel } from '../../../lib/speaker/peers.js';
import { ad, config, peer, pool, selector, service } from './fixtures.js';

const lan = pool('lan', 'layer2', ['172.18.0.200-172.18.0.250']);
const edge = pool('edge', 'bgp', ['198.51.100.0/24'], [ad({ aggregationLength: 24, localPref: 100 })]);
const cfg = config([lan, edge], [peer('192.0.2.1'), peer('192.0.2.2', { nodeSelectors: [selector({ rack: 'r1' })] })]);
const ABC = new Set(['node-a', 'node-b', 'node-c']);

function eps(...ready: string[]): EndpointReadiness {
  return readinessFromEndpoints({ subsets: [{ addresses: ready.map((n, i) => ({ ip: `10.244.0.${i + 1}`, nodeName: n })) }] });
}
function fx(e: ServiceEffects) {
  return {
    action: e.decision.action,
    reason: e.decision.action === 'withdraw' ? e.decision.reason : undefined,
    announce: e.layer2Announce.map(String),
    release: e.layer2Release.map(String),
    routes: e.bgp.announce.map((a) => `${a.prefix}@${a.localPref}`),
    withdrawRoutes: e.bgp.withdraw.map(String),
    set: e.announcedSet.map((s) => `${s.service}|${s.protocol}|${s.node}|${s.ip}`),
    del: e.announcedDelete.map((s) => `${s.service}|${s.protocol}|${s.node}|${s.ip}`),
    event: e.event ? `${e.event.type} ${e.event.reason}: ${e.event.message}` : undefined,
  };
}
const empty = { announce: [], release: [], routes: [], withdrawRoutes: [], set: [], del: [], event: undefined };

function adopt(s: SpeakerState, c: Config): ServiceEffects[] {
  const o = s.setConfig(c);
  assert.equal(o.status, 'adopted');
  return o.status === 'adopted' ? o.reprocess.map((k) => s.reconcile(k)) : [];
}

test('layer2 lifecycle on the elected node: nothing before config, announce, refresh, delete', () => {
  const s = new SpeakerState({ nodeName: 'node-b', usableSpeakers: ABC });
  assert.deepEqual(fx(s.updateService('default/web', service({ ips: ['172.18.0.200'] }))), { ...empty, action: 'withdraw', reason: 'serviceDeleted' }, 'no endpoints yet');
  assert.deepEqual(fx(s.updateEndpoints('default/web', eps('node-c'))), { ...empty, action: 'keep', reason: undefined }, 'no config yet');
  const [first] = adopt(s, cfg);
  assert.deepEqual(fx(first), {
    ...empty,
    action: 'announce',
    reason: undefined,
    announce: ['172.18.0.200'],
    set: ['default/web|layer2|node-b|172.18.0.200'],
    event: 'Normal nodeAssigned: announcing from node "node-b"',
  });
  assert.deepEqual(fx(s.reconcile('default/web')).announce, ['172.18.0.200'], 'every pass re-announces (gratuitous refresh)');
  assert.deepEqual([...s.layer2IPs()].map(String), ['172.18.0.200']);
  assert.deepEqual(fx(s.updateService('default/web', undefined)), {
    ...empty,
    action: 'withdraw',
    reason: 'serviceDeleted',
    release: ['172.18.0.200'],
    del: ['default/web|layer2|node-b|172.18.0.200'],
  });
  assert.deepEqual([...s.layer2IPs()], []);
  assert.deepEqual(fx(s.updateEndpoints('default/web', undefined)), { ...empty, action: 'withdraw', reason: 'serviceDeleted' }, 'withdrawing twice is a no-op');
  assert.deepEqual(s.serviceKeys(), [], 'forgotten once gone');
});

test('failover: the owner leaves gossip, the next node in hash order takes over; it rejoins and takes back', () => {
  // 172.18.0.200: order node-b, node-a, node-c
  const a = new SpeakerState({ nodeName: 'node-a', usableSpeakers: ABC });
  adopt(a, cfg);
  a.updateService('default/web', service({ ips: ['172.18.0.200'] }));
  assert.equal(a.updateEndpoints('default/web', eps('node-c')).decision.action, 'withdraw');
  const affected = a.setUsableSpeakers(new Set(['node-a', 'node-c']));
  assert.deepEqual(affected, ['default/web']);
  assert.deepEqual(fx(a.reconcile('default/web')).announce, ['172.18.0.200']);
  assert.deepEqual(a.setUsableSpeakers(new Set(['node-a', 'node-b', 'node-c'])), ['default/web'], 'node-b out-ranks node-a');
  assert.deepEqual(fx(a.reconcile('default/web')), { ...empty, action: 'withdraw', reason: 'notOwner', release: ['172.18.0.200'], del: ['default/web|layer2|node-a|172.18.0.200'] });
});

test('exclusion label: the excluded owner withdraws, the next node takes over, both ways; gossip membership stays as reported', () => {
  // 172.18.0.200: order node-b, node-a, node-c
  const a = new SpeakerState({ nodeName: 'node-a', usableSpeakers: ABC });
  const b = new SpeakerState({ nodeName: 'node-b', usableSpeakers: ABC });
  for (const s of [a, b]) {
    adopt(s, cfg);
    s.updateService('default/web', service({ ips: ['172.18.0.200'] }));
    s.updateEndpoints('default/web', eps('node-c'));
  }
  assert.equal(b.reconcile('default/web').decision.action, 'announce');
  assert.equal(a.reconcile('default/web').decision.action, 'withdraw');
  assert.equal(a.setExcludedNodes(new Set()), undefined, 'no change: nothing to re-decide');
  for (const s of [a, b]) assert.deepEqual(s.setExcludedNodes(new Set(['node-b'])), ['default/web']);
  assert.equal(b.nodeExcluded, true);
  assert.equal(a.nodeExcluded, false);
  assert.deepEqual(fx(b.reconcile('default/web')), { ...empty, action: 'withdraw', reason: 'nodeExcluded', release: ['172.18.0.200'], del: ['default/web|layer2|node-b|172.18.0.200'] });
  assert.deepEqual(fx(a.reconcile('default/web')).announce, ['172.18.0.200'], 'node-a is next in election order');
  assert.deepEqual([...(a.usableSpeakers ?? [])].sort(), ['node-a', 'node-c'], 'excluded nodes are no candidates');
  // a membership change while excluded keeps the node out
  assert.deepEqual(a.setUsableSpeakers(new Set(['node-a', 'node-b', 'node-c'])), []);
  assert.equal(a.reconcile('default/web').decision.action, 'announce');
  // the label goes: node-b takes back
  for (const s of [a, b]) assert.deepEqual(s.setExcludedNodes(new Set()), ['default/web']);
  assert.equal(fx(a.reconcile('default/web')).reason, 'notOwner');
  assert.deepEqual(fx(b.reconcile('default/web')).announce, ['172.18.0.200']);
});

test('exclusion label: an excluded node withdraws its BGP routes', () => {
  const s = new SpeakerState({ nodeName: 'node-a', usableSpeakers: ABC });
  adopt(s, cfg);
  s.updateService('default/bgp', service({ ips: ['198.51.100.7'] }));
  assert.deepEqual(fx(s.updateEndpoints('default/bgp', eps('node-a'))).routes, ['198.51.100.0/24@100']);
  s.setExcludedNodes(new Set(['node-a']));
  assert.deepEqual(fx(s.reconcile('default/bgp')).withdrawRoutes, ['198.51.100.0/24']);
});

test('membership changes that cannot change an election touch no Service', () => {
  const a = new SpeakerState({ nodeName: 'node-a', usableSpeakers: new Set(['node-a', 'node-b']) });
  adopt(a, cfg);
  a.updateService('default/web', service({ ips: ['172.18.0.200'] }));
  a.updateEndpoints('default/web', eps('node-a'));
  a.updateService('default/bgp', service({ ips: ['198.51.100.9'] }));
  a.updateEndpoints('default/bgp', eps('node-a'));
  assert.deepEqual(a.setUsableSpeakers(new Set(['node-a', 'node-b', 'node-c'])), [], 'node-c ranks below owner node-b');
  assert.deepEqual(a.setUsableSpeakers(new Set(['node-a', 'node-b'])), [], 'node-c leaving owned nothing');
  assert.deepEqual(a.setUsableSpeakers(new Set(['node-b'])), [], 'node-a owned nothing');
  assert.deepEqual(a.setUsableSpeakers(null).sort(), ['default/web'], 'memberlist off: every layer2 election, no BGP Service');
});

test('Services sharing a layer2 address: released only when the last one goes', () => {
  const s = new SpeakerState({ nodeName: 'node-b', usableSpeakers: ABC });
  adopt(s, cfg);
  for (const k of ['ns/one', 'ns/two']) {
    s.updateService(k, service({ ips: ['172.18.0.200'] }));
    assert.equal(s.updateEndpoints(k, eps('node-a')).decision.action, 'announce');
  }
  assert.deepEqual(fx(s.updateService('ns/one', undefined)).release, []);
  assert.deepEqual(fx(s.updateService('ns/two', service({ ips: ['172.18.0.200'], type: 'ClusterIP' }))).release, ['172.18.0.200']);
});

test('BGP: routes per Service, shared aggregate kept until the last Service goes, IP change inside an aggregate causes no churn', () => {
  const s = new SpeakerState({ nodeName: 'node-a', usableSpeakers: ABC });
  adopt(s, cfg);
  s.updateService('ns/one', service({ ips: ['198.51.100.10'] }));
  assert.deepEqual(fx(s.updateEndpoints('ns/one', eps('node-c'))), {
    ...empty,
    action: 'announce',
    reason: undefined,
    routes: ['198.51.100.0/24@100'],
    set: ['ns/one|bgp|node-a|198.51.100.10'],
    event: 'Normal nodeAssigned: announcing from node "node-a"',
  });
  s.updateService('ns/two', service({ ips: ['198.51.100.20'] }));
  assert.deepEqual(fx(s.updateEndpoints('ns/two', eps('node-c'))).routes, [], 'aggregate already announced');
  assert.deepEqual(fx(s.updateService('ns/one', service({ ips: ['198.51.100.11'] }))), {
    ...empty,
    action: 'announce',
    reason: undefined,
    set: ['ns/one|bgp|node-a|198.51.100.11'],
    del: ['ns/one|bgp|node-a|198.51.100.10'],
    event: 'Normal nodeAssigned: announcing from node "node-a"',
  });
  assert.deepEqual(fx(s.updateService('ns/one', undefined)).withdrawRoutes, []);
  assert.deepEqual(fx(s.updateService('ns/two', undefined)).withdrawRoutes, ['198.51.100.0/24']);
  assert.equal(s.routes.size, 0);
});

test('BGP Local: announce only while this node has a ready endpoint', () => {
  const s = new SpeakerState({ nodeName: 'node-a', usableSpeakers: null });
  adopt(s, cfg);
  s.updateService('ns/web', service({ ips: ['198.51.100.10'], policy: 'Local' }));
  assert.deepEqual(fx(s.updateEndpoints('ns/web', eps('node-b'))), { ...empty, action: 'withdraw', reason: 'noLocalEndpoints' });
  assert.deepEqual(fx(s.updateEndpoints('ns/web', eps('node-b', 'node-a'))).routes, ['198.51.100.0/24@100']);
  assert.deepEqual(fx(s.updateEndpoints('ns/web', eps('node-b'))).withdrawRoutes, ['198.51.100.0/24']);
});

test('moving a pool from layer2 to bgp and back', () => {
  const s = new SpeakerState({ nodeName: 'node-b', usableSpeakers: ABC });
  adopt(s, cfg);
  s.updateService('ns/web', service({ ips: ['172.18.0.200'] }));
  assert.equal(s.updateEndpoints('ns/web', eps('node-a')).decision.action, 'announce');
  const asBGP = config([pool('lan', 'bgp', ['172.18.0.200-172.18.0.250']), edge], cfg.peers);
  const [toBGP] = adopt(s, asBGP);
  assert.deepEqual(fx(toBGP), {
    ...empty,
    action: 'announce',
    reason: undefined,
    release: ['172.18.0.200'],
    routes: ['172.18.0.200/32@0'],
    set: ['ns/web|bgp|node-b|172.18.0.200'],
    del: ['ns/web|layer2|node-b|172.18.0.200'],
    event: 'Normal nodeAssigned: announcing from node "node-b"',
  });
  assert.equal(toBGP.decision.action === 'announce' && toBGP.decision.withdrawPrevious, 'protocolChanged');
  const [back] = adopt(s, cfg);
  assert.deepEqual(fx(back).announce, ['172.18.0.200']);
  assert.deepEqual(fx(back).withdrawRoutes, ['172.18.0.200/32']);
});

test('config handling: refused while an announced Service would be stranded, retried once it is gone; invalid and missing keep the old one', () => {
  const s = new SpeakerState({ nodeName: 'node-b', usableSpeakers: ABC });
  assert.equal(s.configLoaded, false);
  adopt(s, cfg);
  assert.deepEqual([s.configLoaded, s.configStale], [true, false]);
  s.updateService('ns/web', service({ ips: ['172.18.0.200'] }));
  s.updateEndpoints('ns/web', eps('node-a'));
  const shrunk = config([pool('lan', 'layer2', ['172.18.0.210-172.18.0.250']), edge]);
  const refused = s.setConfig(shrunk);
  assert.equal(refused.status, 'refused');
  assert.ok(refused.status === 'refused' && refused.blockers.includes('ns/web') && /ns\/web/.test(refused.reason));
  assert.deepEqual([s.configLoaded, s.configStale], [true, true]);
  assert.equal(s.currentConfig, cfg, 'old config stays in force');
  const gone = s.updateService('ns/web', undefined);
  assert.equal(gone.pendingConfigUnblocked, true);
  assert.equal(s.retryPendingConfig()?.status, 'adopted');
  assert.equal(s.currentConfig, shrunk);
  assert.equal(s.configStale, false);
  assert.equal(s.rejectConfig('address-pools[0]: bad').status, 'rejected');
  assert.deepEqual([s.configLoaded, s.configStale, s.currentConfig === shrunk], [true, true, true]);
  assert.equal(s.configMissing().status, 'rejected');
  assert.equal(s.retryPendingConfig(), undefined);
});

test('a blocker that moves to an IP the pending config accepts unblocks it', () => {
  const s = new SpeakerState({ nodeName: 'node-b', usableSpeakers: ABC });
  adopt(s, cfg);
  s.updateService('ns/web', service({ ips: ['172.18.0.200'] }));
  s.updateEndpoints('ns/web', eps('node-a'));
  assert.equal(s.setConfig(config([pool('lan', 'layer2', ['172.18.0.210-172.18.0.250'])])).status, 'refused');
  // 172.18.0.215: still announced by someone; whatever the election says, the blocker is gone
  const moved = s.updateService('ns/web', service({ ips: ['172.18.0.215'] }));
  assert.equal(moved.pendingConfigUnblocked, true);
});

test('node labels select peers; unchanged labels change nothing', () => {
  const s = new SpeakerState({ nodeName: 'node-a', usableSpeakers: ABC });
  const o = s.setConfig(cfg);
  assert.ok(o.status === 'adopted');
  if (o.status !== 'adopted') return;
  assert.deepEqual(o.peers.open.map(peerLabel), ['192.0.2.1:179'], 'before the Node is seen: empty labels');
  assert.equal(s.setNodeLabels({}), undefined);
  const toR1 = s.setNodeLabels({ rack: 'r1' });
  assert.deepEqual([toR1?.open.map(peerLabel), toR1?.keep.map(peerLabel), toR1?.close.map(peerLabel)], [['192.0.2.2:179'], ['192.0.2.1:179'], []]);
  assert.equal(s.setNodeLabels(new Map([['rack', 'r1']])), undefined);
  assert.deepEqual(s.setNodeLabels({ rack: 'r2' })?.close.map(peerLabel), ['192.0.2.2:179']);
  assert.deepEqual(s.selectedPeers.map(peerLabel), ['192.0.2.1:179']);
});

test('property: reconciling only the Services setUsableSpeakers returns gives the same result as reconciling all', () => {
  const nodes = ['n0', 'n1', 'n2', 'n3', 'n4'];
  const svcArb = fc.record({
    ip: fc.integer({ min: 200, max: 250 }),
    local: fc.boolean(),
    ready: fc.subarray(nodes),
  });
  const memberArb = fc.oneof(fc.constant(null), fc.subarray(nodes).map((xs) => new Set(xs)));
  fc.assert(
    fc.property(fc.constantFrom(...nodes), fc.array(svcArb, { minLength: 1, maxLength: 8 }), fc.array(memberArb, { minLength: 1, maxLength: 8 }), (me, svcs, memberships) => {
      const incremental = new SpeakerState({ nodeName: me, usableSpeakers: new Set(nodes) });
      adopt(incremental, cfg);
      svcs.forEach((sv, i) => {
        incremental.updateService(`ns/s${i}`, service({ ips: [`172.18.0.${sv.ip}`], policy: sv.local ? 'Local' : 'Cluster' }));
        incremental.updateEndpoints(`ns/s${i}`, eps(...sv.ready));
      });
      for (const m of memberships) {
        for (const k of incremental.setUsableSpeakers(m)) incremental.reconcile(k);
        const full = new SpeakerState({ nodeName: me, usableSpeakers: m });
        adopt(full, cfg);
        svcs.forEach((sv, i) => {
          full.updateService(`ns/s${i}`, service({ ips: [`172.18.0.${sv.ip}`], policy: sv.local ? 'Local' : 'Cluster' }));
          full.updateEndpoints(`ns/s${i}`, eps(...sv.ready));
        });
        const view = (s: SpeakerState) => svcs.map((_, i) => s.announced(`ns/s${i}`)?.ips.map(String).join(',') ?? '-');
        assert.deepEqual(view(incremental), view(full));
        assert.deepEqual([...incremental.layer2IPs()].map(String).sort(), [...full.layer2IPs()].map(String).sort());
      }
    }),
    { numRuns: 300 },
  );
});

test('withdrawAll on shutdown: every address released, every prefix withdrawn, every series deleted', () => {
  const s = new SpeakerState({ nodeName: 'node-b', usableSpeakers: ABC });
  adopt(s, cfg);
  for (const [k, ip] of [['ns/l2', '172.18.0.200'], ['ns/l2b', '172.18.0.200'], ['ns/bgp', '198.51.100.10'], ['ns/bgp2', '198.51.100.77']] as const) {
    s.updateService(k, service({ ips: [ip] }));
    assert.equal(s.updateEndpoints(k, eps('node-a')).decision.action, 'announce', k);
  }
  const w = s.withdrawAll();
  assert.deepEqual(w.layer2Release.map(String), ['172.18.0.200']);
  assert.deepEqual(w.bgp.withdraw.map(String), ['198.51.100.0/24']);
  assert.deepEqual(w.bgp.announce, []);
  assert.equal(w.announcedDelete.length, 4);
  assert.deepEqual([...s.layer2IPs()], []);
  assert.equal(s.routes.size, 0);
  assert.equal(s.reconcile('ns/bgp').decision.action, 'announce', 'inputs kept');
});

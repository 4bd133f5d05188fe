// Losing the announcing speaker pod. Expects: layer2.ts's Service "web-l2". Leaves the install
// with a speaker on every node again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../support/cluster/cluster.js';
import { arpMacs, curl, neighbourMac, nodeOfMac, pods, until, waitInstalled, type Pod } from '../../support/cluster/metallb.js';
import { WEB_NS } from './layer2.js';

async function layer2Address(c: Cluster): Promise<string> {
  const s = await c.getJson<{ status: { loadBalancer: { ingress: { ip: string }[] } } }>(['get', 'service', 'web-l2', '-n', WEB_NS]);
  return s.status.loadBalancer.ingress[0]?.ip ?? '';
}

/** Runs curl from the client every 200 ms until stopped; counts successes and failures. */
function curlLoop(c: Cluster, ip: string): { stop: () => Promise<{ ok: number; failed: number }> } {
  let running = true;
  let ok = 0;
  let failed = 0;
  const loop = (async () => {
    while (running) {
      if (curl(c, ip, 2) !== undefined) ok++; else failed++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { stop: async () => { running = false; await loop; return { ok, failed }; } };
}

/** Parsed JSON log lines of a container (CRI format: "<time> <stream> <tag> <json>"). */
function logRecords(c: Cluster, pod: Pod): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of c.podLog('metallb-system', pod.metadata.name, 'speaker').split('\n')) {
    const i = line.indexOf('{');
    if (i < 0) continue;
    try { out.push(JSON.parse(line.slice(i)) as Record<string, unknown>); } catch { /* not JSON */ }
  }
  return out;
}

async function announcingSpeaker(c: Cluster, ip: string): Promise<{ mac: string; node: string; pod: Pod }> {
  const mac = await until('one ARP answer', 60_000, () => { const m = arpMacs(c, ip); return m.length === 1 ? m[0] : undefined; }, 500);
  const node = nodeOfMac(c, mac) ?? '';
  const pod = (await pods(c, 'component=speaker')).find((p) => p.spec.nodeName === node);
  assert.ok(pod, `no speaker on ${node} (MAC ${mac})`);
  return { mac, node, pod };
}

/** Whether every other speaker logged a memberlist event about `node` at or after `sinceMs`. */
function othersSawRejoin(c: Cluster, speakers: readonly Pod[], node: string, sinceMs: number): boolean {
  return speakers.filter((p) => p.spec.nodeName !== node).every((p) => logRecords(c, p).some((r) =>
    r.op === 'memberDiscovery' && (r.event === 'join' || r.event === 'update') && r.node === node
    && Date.parse(String(r.time ?? '')) >= sinceMs - 1_000));
}

async function deleteAnnouncer(c: Cluster): Promise<void> {
  const ip = await layer2Address(c);
  const { mac: before, node: owner, pod: victim } = await announcingSpeaker(c, ip);
  assert.ok(curl(c, ip) !== undefined, 'curl fails before the failover');
  assert.equal(neighbourMac(c, ip), before, 'client neighbour entry not on the announcing node');
  const loop = curlLoop(c, ip);
  const t0 = Date.now();
  await c.kubectl(['delete', 'pod', victim.metadata.name, '-n', 'metallb-system', '--wait=false']);
  // no ARP request from the client needed: the new owner's gratuitous ARP moves the entry
  const after = await until('the client neighbour entry to move to another node', 60_000, () => {
    const m = neighbourMac(c, ip);
    return m && m !== before ? m : undefined;
  }, 100);
  const newOwner = nodeOfMac(c, after);
  assert.ok(newOwner && newOwner !== owner, `entry moved to ${after} (${newOwner})`);
  await new Promise((r) => setTimeout(r, 2_000));
  const { ok, failed } = await loop.stop();
  assert.ok(ok > 0, 'no request succeeded during the failover');
  assert.ok(curl(c, ip) !== undefined, 'curl fails after the failover');
  const macs = arpMacs(c, ip);
  assert.equal(macs.length, 1, `several MACs answer: ${macs.join(', ')}`);
  console.log(`# delete: ${owner} -> ${newOwner}; during the failover ${ok} requests ok, ${failed} failed`);

  // the DaemonSet's replacement comes back on that node and rejoins memberlist
  const { speakers } = await waitInstalled(c);
  const back = speakers.find((p) => p.spec.nodeName === owner);
  assert.ok(back, `no speaker on ${owner} again`);
  assert.notEqual(back.metadata.uid, victim.metadata.uid);
  await until(`the other speakers to see ${owner} join memberlist again`, 90_000, () => (othersSawRejoin(c, speakers, owner, t0) ? true : undefined), 1000);
}

async function killAnnouncer(c: Cluster): Promise<void> {
  const ip = await layer2Address(c);
  const { node: owner, pod: victim } = await announcingSpeaker(c, ip);
  const restarts = victim.status.containerStatuses?.[0]?.restartCount ?? 0;
  const loop = curlLoop(c, ip);
  const t0 = Date.now();
  process.kill(await c.containerPid(owner, victim.status.containerStatuses?.[0]?.containerID ?? ''), 'SIGKILL');
  // kubelet restarts the container in the same pod; whether another node took over meanwhile
  // depends on how fast memberlist declared it dead; either way one node answers afterwards
  const { speakers } = await until('the killed container restarted and Ready', 120_000, async () => {
    const w = await waitInstalled(c);
    const same = w.speakers.find((p) => p.metadata.uid === victim.metadata.uid);
    return same && (same.status.containerStatuses?.[0]?.restartCount ?? 0) > restarts ? w : undefined;
  }, 500);
  // the restarted speaker (same name and address, so the others may never have marked it dead)
  // joins the peers again and sees every node as a member
  const all = c.nodes.map((n) => n.name).sort().join();
  const restarted = speakers.find((p) => p.metadata.uid === victim.metadata.uid) as Pod;
  await until(`${owner}'s restarted speaker to rejoin memberlist with every node`, 90_000, () => {
    const recs = logRecords(c, restarted).filter((r) => r.op === 'memberDiscovery' && Date.parse(String(r.time ?? '')) >= t0 - 1_000);
    const joined = recs.some((r) => typeof r.joined === 'number' && r.joined > 0);
    const full = recs.some((r) => Array.isArray(r.members) && [...(r.members as string[])].sort().join() === all);
    return joined && full ? true : undefined;
  }, 1000);
  await new Promise((r) => setTimeout(r, 2_000));
  const { ok, failed } = await loop.stop();
  const macs = await until('one ARP answer', 30_000, () => { const m = arpMacs(c, ip); return m.length === 1 ? m : undefined; }, 500);
  assert.equal(macs.length, 1);
  assert.equal(neighbourMac(c, ip), macs[0], 'the client entry does not point at the answering node');
  assert.ok(ok > 0, 'no request succeeded while the speaker restarted');
  assert.ok(curl(c, ip) !== undefined, 'curl fails after the restart');
  console.log(`# kill: owner before ${owner}, after ${nodeOfMac(c, macs[0] ?? '')}; ${ok} requests ok, ${failed} failed`);
}

export function failoverTests(get: () => Cluster): void {
  test('deleting the announcing speaker pod: another node answers, the client entry moves, curl keeps working, the replacement rejoins', async () => {
    await deleteAnnouncer(get());
  });

  test('killing the announcing speaker container: kubelet restarts it, it rejoins memberlist, one node answers, curl works', async () => {
    await killAnnouncer(get());
  });
}

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

async function failover(c: Cluster, how: 'delete' | 'kill'): Promise<void> {
  const ip = await layer2Address(c);
  const before = await until('one ARP answer', 30_000, () => { const m = arpMacs(c, ip); return m.length === 1 ? m[0] : undefined; }, 500);
  assert.equal(curl(c, ip) !== undefined, true);
  assert.equal(neighbourMac(c, ip), before, 'client neighbour entry not on the announcing node');
  const owner = nodeOfMac(c, before) ?? '';
  const victim = (await pods(c, 'component=speaker')).find((p) => p.spec.nodeName === owner);
  assert.ok(victim, `no speaker on ${owner}`);
  const loop = curlLoop(c, ip);
  if (how === 'delete') {
    await c.kubectl(['delete', 'pod', victim.metadata.name, '-n', 'metallb-system', '--wait=false']);
  } else {
    process.kill(await c.containerPid(owner, victim.status.containerStatuses?.[0]?.containerID ?? ''), 'SIGKILL');
  }
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
  // the client saw one MAC only (the new owner's) after the change
  const macs = arpMacs(c, ip);
  assert.equal(macs.length, 1, `several MACs answer: ${macs.join(', ')}`);
  console.log(`# ${how}: ${owner} -> ${newOwner}; during the failover ${ok} requests ok, ${failed} failed`);

  // the DaemonSet's replacement (or the restarted container) comes back and rejoins memberlist
  const { speakers } = await waitInstalled(c);
  const back = speakers.find((p) => p.spec.nodeName === owner);
  assert.ok(back, `no speaker on ${owner} again`);
  if (how === 'delete') assert.notEqual(back.metadata.uid, victim.metadata.uid);
  await until(`the other speakers to see ${owner} join memberlist again`, 90_000, () => {
    const others = speakers.filter((p) => p.spec.nodeName !== owner);
    const seen = others.every((p) => logRecords(c, p).some((r) => r.op === 'memberDiscovery' && r.event === 'join' && r.node === owner
      && Date.parse(String(r.time ?? '')) >= 0));
    return seen ? true : undefined;
  }, 1000);
}

export function failoverTests(get: () => Cluster): void {
  test('deleting the announcing speaker pod: another node answers, the client entry moves, curl keeps working, the replacement rejoins', async () => {
    await failover(get(), 'delete');
  });

  test('killing the announcing speaker container: same, and the restarted container rejoins', async () => {
    await failover(get(), 'kill');
  });
}

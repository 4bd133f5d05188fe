// `npm run demo -- --once` on real pods, as a user runs it: exit 0, the story in the output (real
// controller and speaker pods Running, ARP, BGP, curl) and nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/cluster/cluster.js';

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/test/support/cluster/demo-main.js'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

test('npm run demo -- --once: real pods, ARP, BGP and curl checked, nothing left behind', { timeout: 15 * 60_000 }, async () => {
  const { code, out } = await run(['--once']);
  assert.equal(code, 0, `demo exited ${code}:\n${out}`);
  assert.match(out, /\[8\/8\] /);
  // kubectl get pods -n metallb-system -o wide: the controller and three speakers, Running
  const podLines = out.split('\n').filter((l) => /^\s+(controller|speaker)-\S+\s+1\/1\s+Running\s/.test(l));
  assert.equal(podLines.filter((l) => /speaker-/.test(l)).length, 3, out);
  assert.equal(podLines.filter((l) => /controller-/.test(l)).length, 1, out);
  const speakerNodes = podLines.filter((l) => /speaker-/.test(l)).map((l) => /\s(node\d)\s/.exec(l)?.[1]).sort();
  assert.deepEqual(speakerNodes, ['node1', 'node2', 'node3']);
  const arp = /ok: (198\.51\.100\.\d+) is answered by (node[123]) \(MAC (02:00:00:00:00:1[123])\)/.exec(out);
  assert.ok(arp, out);
  assert.equal(`node${Number(`0x${arp[3]?.slice(-2)}`) - 0x10}`, arp[2], 'MAC and node agree');
  assert.match(out, /router route 203\.0\.113\.\d+\/32 next hops: 198\.51\.100\.11, 198\.51\.100\.12, 198\.51\.100\.13/);
  assert.match(out, /curl http:\/\/198\.51\.100\.\d+\/ -> "web-\S+ on node\d"; curl http:\/\/203\.0\.113\.\d+\/ -> "web-\S+ on node\d"/);
  assert.match(out, /All checks passed/);
  // nothing left: namespaces, run directories, processes
  const netns = /netns (mtcl[0-9a-f]{4}-)node1/.exec(out)?.[1] ?? 'none';
  assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(netns), 'namespaces left');
  const dir = /run directory (\S+)/.exec(out)?.[1] ?? '';
  assert.ok(dir.startsWith(join(tmpdir(), 'metallb-ts-cluster-')), `no run directory in the output:\n${out}`);
  assert.ok(!existsSync(dir), `${dir} left behind`);
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(dir));
  assert.deepEqual(ps, [], 'processes left');
  assert.ok(!existsSync('/var/lib/cni/results') || readdirSync('/var/lib/cni/results').every((f) => !f.startsWith(netns.slice(0, -1))));
});

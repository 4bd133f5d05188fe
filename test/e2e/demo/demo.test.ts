// e2e: the sandbox demo (test/support/sandbox/demo-cli.ts) as a user runs it. As root, after scripts/setup.sh.
//  - `--once`: every step runs and is checked by the demo itself; here we assert exit 0, the key
//    output (kubectl get svc, the node answering ARP, the router's next hops, curl pages) and that
//    nothing is left behind (namespaces, temporary directories, processes);
//  - keep-running mode: after "Press Ctrl-C", a printed command to try works, then SIGINT removes
//    everything and the demo exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const demoScript = join(root, 'dist', 'test', 'support', 'sandbox', 'demo-cli.js');

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[]): Run {
  const child = spawn(process.execPath, [demoScript, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

function match(out: string, re: RegExp, what: string): RegExpMatchArray {
  const m = out.match(re);
  assert.ok(m, `demo output lacks ${what} (${re}):\n${out}`);
  return m;
}

/** What the demo created, from its output. */
function createdThings(out: string): { netnsPrefix: string; dirs: string[] } {
  const netnsPrefix = match(out, /netns (mtdemo[0-9a-f]{4}-)router/, 'the router namespace')[1] ?? '';
  const logDir = match(out, /logs in (\/\S+metallb-ts-demo-\w+)/, 'the log directory')[1] ?? '';
  const frrDir = match(out, /bgpd and zebra answer on (\/\S+)/, 'the FRR directory')[1] ?? '';
  return { netnsPrefix, dirs: [logDir, frrDir] };
}

function assertNothingLeft(out: string, extraDirs: string[] = []): void {
  const { netnsPrefix, dirs } = createdThings(out);
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.ok(!namespaces.includes(netnsPrefix), `namespaces ${netnsPrefix}* left behind:\n${namespaces}`);
  for (const d of [...dirs, ...extraDirs]) assert.ok(!existsSync(d), `${d} left behind`);
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  for (const d of [...dirs, ...extraDirs]) {
    const left = ps.split('\n').filter((l) => l.includes(d));
    assert.deepEqual(left, [], `processes using ${d} left behind`);
  }
}

function assertStory(out: string): void {
  match(out, /\[12\/12\] /, 'the last step');
  match(out, /NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP/, 'the kubectl get svc header');
  match(out, /web-layer2\s+LoadBalancer\s+\S+\s+198\.51\.100\.2(0\d|10)\s/, 'web-layer2 with a layer2 pool address');
  match(out, /web-bgp\s+LoadBalancer\s+\S+\s+203\.0\.113\.\d+\s/, 'web-bgp with a bgp pool address');
  const arp = match(out, /ok: (198\.51\.100\.\d+) is answered by (node[123]) \(MAC (02:00:00:00:00:0[bcd])\)/, 'the node answering ARP');
  assert.equal(`node${parseInt(arp[3]?.slice(-2) ?? '0', 16) - 10}`, arp[2], 'MAC and node name agree');
  match(out, /ok: router route 203\.0\.113\.\d+\/32 next hops: 198\.51\.100\.11, 198\.51\.100\.12, 198\.51\.100\.13/, 'the router route with three next hops');
  match(out, new RegExp(`curl http://198\\.51\\.100\\.\\d+/ served by ${arp[2]}; curl http://203\\.0\\.113\\.\\d+/ served by node[123]`), 'both curl pages (layer2 one from the ARP node)');
}

test('npm run demo -- --once: the whole story passes its checks and leaves nothing behind', { timeout: 600_000 }, async () => {
  const run = startDemo(['--once']);
  const { code } = await run.exited;
  const out = run.output();
  assert.equal(code, 0, `demo --once exited ${code}:\n${out}`);
  assertStory(out);
  match(out, /All checks passed/, 'the success line');
  assertNothingLeft(out);
});

test('npm run demo: keeps running with commands to try; SIGINT removes everything', { timeout: 600_000 }, async () => {
  const run = startDemo([]);
  try {
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (run.output().includes('Press Ctrl-C')) {
          clearInterval(check);
          resolve();
        }
      }, 200);
      void run.exited.then(({ code }) => {
        clearInterval(check);
        reject(new Error(`demo exited early with ${code}:\n${run.output()}`));
      });
    });
    const out = run.output();
    assertStory(out);
    const kubeconfig = match(out, /export KUBECONFIG=(\S+)/, 'the kubeconfig path')[1] ?? '';
    assert.ok(existsSync(kubeconfig), `${kubeconfig} does not exist while the demo runs`);
    // one of the printed commands, run as printed
    const curlLine = match(out, /^ {2}(ip netns exec \S+ curl -s http:\/\/198\.51\.100\.\d+\/)$/m, 'a curl command to try')[1] ?? '';
    const [cmd, ...args] = curlLine.split(' ');
    const page = execFileSync(cmd ?? 'ip', args, { encoding: 'utf8', timeout: 15_000 });
    assert.match(page, /served by node[123] /);
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    const final = run.output();
    assert.equal(code, 0, `demo exited ${code} after SIGINT:\n${final}`);
    match(final, /everything removed/, 'the clean-up line');
    assertNothingLeft(final, [dirname(kubeconfig)]);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGINT');
      await run.exited;
    }
  }
});

test('a failing check: the demo names the step, prints the logs, cleans up and exits 1', { timeout: 600_000 }, async () => {
  // a 1 ms budget per wait: the first wait (the controller creating the memberlist Secret) times out
  const run = startDemo(['--once', '--timeout=0.001']);
  const { code } = await run.exited;
  const out = run.output();
  assert.equal(code, 1, `demo exited ${code}:\n${out}`);
  match(out, /DEMO FAILED: step "Starting the controller[^"]*" failed: timed out/, 'the failed step and cause');
  match(out, /--- controller \(/, 'the controller log tail');
  assert.ok(!out.includes('All checks passed'), 'no success line after a failure');
  assertNothingLeft(out);
});

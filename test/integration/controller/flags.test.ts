// Flag and environment handling of the controller binary (docs/behaviour/controller.md#flags): invalid values exit 1 with
// a message naming the problem, before any API server is contacted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './env.js';

function run(args: string[], env: Record<string, string | undefined> = {}): { status: number | null; stderr: string; stdout: string } {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) e[k] = v;
  delete e.METALLB_NAMESPACE;
  if (env.METALLB_NAMESPACE) e.METALLB_NAMESPACE = env.METALLB_NAMESPACE;
  const r = spawnSync(process.execPath, [join(root, 'dist', 'bin', 'controller.js'), ...args], { env: e, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

test('controller flags: an unknown --log-level exits 1 naming the allowed values', () => {
  const r = run(['--log-level=verbose', '--namespace=x']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--log-level must be one of all, debug, info, warn, error, none/);
});

test('controller flags: without --namespace, METALLB_NAMESPACE or a service-account file it exits 1', () => {
  const r = run(['--kubeconfig=/nonexistent']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unable to get namespace/);
});

test('controller flags: unknown flags and bad ports exit 1', () => {
  assert.equal(run(['--no-such-flag']).status, 1);
  const r = run(['--port=70000', '--namespace=x']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--port must be a TCP port/);
});

test('controller flags: Go-style flags as upstream manifests write them are taken (-port=N, -port N, -flag, -flag=false)', () => {
  // a bad port reached the port check: the Go-style flag itself was accepted
  const single = run(['-port=70000', '-namespace=x']);
  assert.equal(single.status, 1);
  assert.match(single.stderr, /--port must be a TCP port, got "70000"/);
  const spaced = run(['-port', '70001', '-namespace', 'x']);
  assert.match(spaced.stderr, /--port must be a TCP port, got "70001"/);
  // all accepted: it gets as far as reading the (missing) kubeconfig
  const ok = run(['-port=0', '-config=config', '-log-level=info', '-disable-epslices', '-enable-pprof=false', '-namespace=x', '-kubeconfig=/nonexistent/kubeconfig']);
  assert.equal(ok.status, 1);
  assert.doesNotMatch(ok.stderr, /flag provided but not defined|needs an argument|invalid boolean/);
  assert.match(ok.stdout, /serving \/metrics/, 'started serving metrics');
  assert.match(ok.stdout, /ENOENT.*\/nonexistent\/kubeconfig/, 'then failed on the kubeconfig it was given');
  const bad = run(['-disable-epslices=maybe', '-namespace=x']);
  assert.match(bad.stderr, /invalid boolean value "maybe" for -disable-epslices/);
});

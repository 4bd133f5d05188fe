// metallbctl validate, run as a real process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const root = join(fileURLToPath(import.meta.url), '../../../../..');
const cli = join(root, 'dist/bin/metallbctl.js');
const fixture = (n: string) => join(root, 'test/fixtures/config', n);

function metallbctl(args: string[], input?: string, asUser?: number) {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: 'utf8', ...(asUser === undefined ? {} : { uid: asUser, gid: asUser }) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('valid ConfigMap: summary and exit 0', () => {
  const r = metallbctl(['validate', fixture('seed-layer2.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /seed-layer2\.yaml: valid \(ConfigMap metallb-system\/config\)/);
  assert.match(r.stdout, /default\s+layer2\s+51\s+yes\s+no\s+172\.18\.0\.200-172\.18\.0\.250/);
  assert.match(r.stdout, /BGP peers: none/);
});

test('valid bare config with peers and IPv6: summary lists pools and peers', () => {
  const r = metallbctl(['validate', fixture('bgp-and-layer2.yaml')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /edge\s+bgp\s+254\s+yes\s+yes/);
  assert.match(r.stdout, /lan\s+layer2\s+272\s+no\s+no\s+198\.51\.100\.0\/28, 2001:db8:1::\/120/);
  assert.match(r.stdout, /192\.0\.2\.1:179\s+64512\s+64500\s+90s\s+30s\s+1\s+yes/);
});

test('invalid multi-document manifest: every problem, who refuses it, exit 1', () => {
  const r = metallbctl(['validate', fixture('invalid-multi.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /invalid \(ConfigMap metallb-system\/config\), 4 problems/);
  assert.match(r.stdout, /peers\[0\]\.ebgp-multihop: .*iBGP.*\[refused by controller and speakers\]/);
  assert.match(r.stdout, /peers\[0\]\.keepalive-time: .*\[refused by native-mode speakers\]/);
  assert.match(r.stdout, /address-pools\[0\]\.addresses\[0\]: "10\.0\.0\.300\/24" is not a CIDR or an address range/);
  assert.match(r.stdout, /address-pools\[1\]\.protocol: unknown protocol "BGP"/);
});

test('--output json for valid and invalid input', () => {
  const ok = metallbctl(['validate', '-o', 'json', fixture('seed-layer2.yaml')]);
  assert.equal(ok.code, 0);
  const v = JSON.parse(ok.stdout);
  assert.equal(v.valid, true);
  assert.deepEqual(v.problems, []);
  assert.equal(v.summary.pools[0].addresses, '51');
  const bad = metallbctl(['validate', '--output=json', fixture('invalid-multi.yaml')]);
  assert.equal(bad.code, 1);
  const b = JSON.parse(bad.stdout);
  assert.equal(b.valid, false);
  assert.equal(b.summary, null);
  assert.equal(b.problems.length, 4);
  assert.deepEqual(Object.keys(b.problems[0]).sort(), ['message', 'path', 'refusedBy']);
  assert.ok(b.problems.some((p: { refusedBy: string }) => p.refusedBy === 'native-speaker'));
});

test('standard input with -', () => {
  const r = metallbctl(['validate', '-'], 'address-pools:\n- {name: a, protocol: layer2, addresses: [10.0.0.0/30]}\n');
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /<stdin>: valid/);
});

test('FRR-only problems are notes, not refusals', () => {
  const r = metallbctl(['validate', '-'], 'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1}\n- {my-asn: 3, peer-asn: 2, peer-address: 192.0.2.2}\n');
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /Notes \(only an FRR-mode speaker/);
  assert.match(r.stdout, /peers\[1\]\.my-asn: my-asn 3 differs/);
});

test('a manifest without a ConfigMap named config', () => {
  const r = metallbctl(['validate', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {config: ""}\n');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /no ConfigMap named "config" in the input \(found ConfigMap "other"\)/);
  const named = metallbctl(['validate', '--configmap-name', 'other', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {config: ""}\n');
  assert.equal(named.code, 0, named.stdout);
  assert.match(named.stdout, /valid \(ConfigMap other\)/);
});

test('YAML syntax errors are reported with their position', () => {
  const r = metallbctl(['validate', '-'], 'address-pools:\n  - name: [oops\n');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /YAML: .*line \d+, column \d+/);
});

test('usage errors and unreadable files exit 2 with a clear message', () => {
  const unknown = metallbctl(['validate', '--frobnicate', fixture('seed-layer2.yaml')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /flag provided but not defined: -frobnicate/);
  assert.match(unknown.stderr, /Usage: metallbctl validate/);
  const badOut = metallbctl(['validate', '-o', 'xml', fixture('seed-layer2.yaml')]);
  assert.equal(badOut.code, 2);
  assert.match(badOut.stderr, /--output must be text or json/);
  const none = metallbctl(['validate']);
  assert.equal(none.code, 2);
  const missing = metallbctl(['validate', '/nonexistent/config.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read \/nonexistent\/config\.yaml: no such file/);
  const dir = mkdtempSync(join(tmpdir(), 'mlbctl-'));
  try {
    assert.match(metallbctl(['validate', dir]).stderr, /is a directory/);
    const f = join(dir, 'secret.yaml');
    writeFileSync(f, 'address-pools: []\n');
    chmodSync(f, 0o000);
    chmodSync(dir, 0o755);
    // root reads any file: as root (CI), the check runs as the unprivileged user "nobody"
    const denied = metallbctl(['validate', f], undefined, process.getuid?.() === 0 ? 65534 : undefined);
    assert.equal(denied.code, 2, denied.stderr);
    assert.match(denied.stderr, /cannot read .*secret\.yaml: permission denied/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cmd = metallbctl(['frobnicate']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /unknown command "frobnicate"/);
});

test('--help exits 0', () => {
  const r = metallbctl(['validate', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: metallbctl validate/);
});

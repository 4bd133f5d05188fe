// What cannot be migrated: invalid configs (refused like `metallbctl validate`), configs the CRD
// objects cannot express, bad input files; and in every failure case the -o file is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateCommand } from '../../../lib/migrate/command.js';
import { validateCommand } from '../../../lib/config/validate-command.js';
import { writeFileAtomic } from '../../../lib/migrate/index.js';

async function run(fn: typeof migrateCommand, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const code = await fn(args, (s) => { stdout += s; }, (s) => { stderr += s; });
  return { code, stdout, stderr };
}

function workdir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'metallb-ts-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const VALID = 'address-pools:\n- {name: p, protocol: layer2, addresses: [192.0.2.0/28]}\n';

interface BadCase { name: string; text?: string; file?: string; code: number; stderr: RegExp }

const BAD: BadCase[] = [
  { name: 'invalid config (overlap)', text: 'address-pools:\n- {name: a, protocol: layer2, addresses: [192.0.2.0/24]}\n- {name: b, protocol: layer2, addresses: [192.0.2.128/25]}\n', code: 1, stderr: /overlaps/ },
  { name: 'invalid config (unknown key)', text: 'address-pools:\n- {name: a, protocol: layer2, addresses: [192.0.2.0/24], autoAssign: false}\n', code: 1, stderr: /autoAssign/ },
  { name: 'invalid config (unknown protocol)', text: 'address-pools:\n- {name: a, protocol: l2, addresses: [192.0.2.0/24]}\n', code: 1, stderr: /protocol/ },
  { name: 'no ConfigMap named config', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: metallb-config, namespace: metallb-system}\ndata: {config: ""}\n', code: 1, stderr: /no ConfigMap named "config".*metallb-config/ },
  { name: 'YAML syntax error', text: 'address-pools:\n- name: a\n  protocol: [layer2\n', code: 1, stderr: /YAML|line/ },
  { name: 'YAML error inside the ConfigMap', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config}\ndata:\n  config: |\n    peers: [\n', code: 1, stderr: /invalid/ },
  { name: 'unreadable file (missing)', file: '/nonexistent/metallb/config.yaml', code: 2, stderr: /cannot read .*no such file/ },
  { name: 'pool names that collide after conversion', text: 'address-pools:\n- {name: Pool, protocol: layer2, addresses: [192.0.2.0/28]}\n- {name: pool, protocol: layer2, addresses: [192.0.2.16/28]}\n', code: 1, stderr: /same object name.*nothing was written/s },
  { name: 'pool name with no letter', text: 'address-pools:\n- {name: "1234", protocol: layer2, addresses: [192.0.2.0/28]}\n', code: 1, stderr: /no letter/ },
  { name: 'pool name that stays invalid', text: 'address-pools:\n- {name: "pool/a", protocol: layer2, addresses: [192.0.2.0/28]}\n', code: 1, stderr: /not a valid Kubernetes object name/ },
  { name: 'BFD profile names that collide after conversion', text: 'bfd-profiles:\n- {name: a_b}\n- {name: a-b}\n', code: 1, stderr: /bfd-profiles\[1\]\.name/ },
  { name: 'peer port above the CRD maximum', text: 'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1, peer-port: 20000}\n', code: 1, stderr: /peerPort accepts at most 16384/ },
  { name: 'conflicting localpref (refused by MetalLB v0.13+)', text: 'address-pools:\n- name: p\n  protocol: bgp\n  addresses: [198.51.100.0/24]\n  bgp-advertisements:\n  - {localpref: 100}\n  - {localpref: 200, aggregation-length: 30}\n', code: 1, stderr: /localpref 200 conflicts with localpref 100/ },
  { name: 'aggregation-length 0 on an IPv4 pool (the CRD minimum is 1)', text: 'address-pools:\n- name: all\n  protocol: bgp\n  addresses: [0.0.0.0/0]\n  bgp-advertisements:\n  - {aggregation-length: 0}\n', code: 1, stderr: /aggregationLength must be at least 1/ },
  { name: 'invalid namespace in the ConfigMap', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: Bad_NS}\ndata: {config: ""}\n', code: 1, stderr: /not a valid namespace/ },
];

for (const c of BAD) {
  test(`refused: ${c.name}; the -o file is left as it was`, async (t) => {
    const dir = workdir(t);
    const input = c.file ?? join(dir, 'in.yaml');
    if (c.text !== undefined) writeFileSync(input, c.text);
    const existing = join(dir, 'existing.yaml');
    writeFileSync(existing, 'previous content\n');
    const fresh = join(dir, 'fresh.yaml');
    for (const [outFile, before] of [[existing, 'previous content\n'], [fresh, undefined]] as const) {
      const r = await run(migrateCommand, [input, '-o', outFile]);
      assert.equal(r.code, c.code, r.stderr);
      assert.match(r.stderr, c.stderr);
      assert.equal(r.stdout, '');
      if (before === undefined) assert.equal(existsSync(outFile), false, 'no output file created');
      else assert.equal(readFileSync(outFile, 'utf8'), before, 'output file unchanged');
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
  });
}

test('an invalid config is refused with the same messages as metallbctl validate', async (t) => {
  const dir = workdir(t);
  const input = join(dir, 'bad.yaml');
  writeFileSync(input, 'peers:\n- {my-asn: 1, peer-address: 192.0.2.300, hold-time: 90}\naddress-pools:\n- {name: p, protocol: layer2, addresses: [10.0.0.5]}\n');
  const m = await run(migrateCommand, [input]);
  const v = await run(validateCommand, [input]);
  assert.equal(v.code, 1);
  assert.equal(m.code, 1);
  assert.ok(m.stderr.startsWith(v.stdout), `migrate's message begins with validate's report:\n${m.stderr}\n---\n${v.stdout}`);
  assert.match(m.stderr, /nothing was written/);
  assert.equal(m.stdout, '');
});

test('configs refused only by native-mode speakers are migrated, with warnings', async (t) => {
  const dir = workdir(t);
  const input = join(dir, 'frr.yaml');
  writeFileSync(input, 'peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.1, keepalive-time: 10s}\n');
  const v = await run(validateCommand, [input]);
  assert.equal(v.code, 1, 'validate reports it (native speakers refuse keepalive-time)');
  const m = await run(migrateCommand, [input]);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /keepaliveTime: 10s/);
  assert.match(m.stderr, /warning: peers\[0\]\.keepalive-time: .*native-mode speakers refuse this/);
});

test('-o writes the file atomically and reports on stderr; stdout stays empty', async (t) => {
  const dir = workdir(t);
  const input = join(dir, 'in.yaml');
  writeFileSync(input, VALID);
  const out = join(dir, 'out.yaml');
  writeFileSync(out, 'old\n');
  chmodSync(out, 0o600);
  const r = await run(migrateCommand, [input, '-o', out, '--namespace', 'lb']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /wrote 2 objects \(namespace lb\) to /);
  const text = readFileSync(out, 'utf8');
  assert.match(text, /namespace: lb\n/);
  assert.deepEqual(readdirSync(dir).sort(), ['in.yaml', 'out.yaml']);
});

test('-o - prints to standard output', async (t) => {
  const dir = workdir(t);
  const input = join(dir, 'in.yaml');
  writeFileSync(input, VALID);
  const r = await run(migrateCommand, [input, '-o', '-']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# This was autogenerated/);
  assert.deepEqual(readdirSync(dir), ['in.yaml']);
});

test('an unwritable -o target fails with exit 2 and leaves nothing behind', async (t) => {
  const dir = workdir(t);
  const input = join(dir, 'in.yaml');
  writeFileSync(input, VALID);
  const r = await run(migrateCommand, [input, '-o', join(dir, 'missing-dir', 'out.yaml')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot write .*no such directory/);
  mkdirSync(join(dir, 'adir'));
  const r2 = await run(migrateCommand, [input, '-o', join(dir, 'adir')]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /is a directory/);
  assert.deepEqual(readdirSync(dir).sort(), ['adir', 'in.yaml']);
  assert.deepEqual(readdirSync(join(dir, 'adir')), []);
});

test('usage errors exit 2', async () => {
  for (const args of [[], ['a', 'b'], ['--bogus', 'x'], ['--namespace', 'Not_Valid', 'x'], ['--from-cluster', 'file.yaml'], ['--kubeconfig', 'k', 'x'], ['-o', '', 'x']]) {
    const r = await run(migrateCommand, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^metallbctl migrate: /);
  }
  const h = await run(migrateCommand, ['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Usage: metallbctl migrate/);
});

test('writeFileAtomic keeps the mode of an existing file and replaces its content', (t) => {
  const dir = workdir(t);
  const f = join(dir, 'x');
  writeFileSync(f, 'a');
  chmodSync(f, 0o640);
  writeFileAtomic(f, 'bcd');
  assert.equal(readFileSync(f, 'utf8'), 'bcd');
  assert.deepEqual(readdirSync(dir), ['x']);
});

// The installed entry point: `metallbctl migrate` as a process (dispatch, standard input, exit
// status, output streams).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = join(root, 'dist', 'bin', 'metallbctl.js');
const fixtures = join(root, 'test', 'fixtures', 'migrate');

function metallbctl(args: string[], input?: string) {
  return spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', cwd: root });
}

test('reads standard input with "-" and prints the golden output', () => {
  const r = metallbctl(['migrate', '-'], readFileSync(join(fixtures, 'full', 'configmap.yaml'), 'utf8'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(join(fixtures, 'full', 'expected.yaml'), 'utf8'));
  assert.equal(r.stderr, readFileSync(join(fixtures, 'full', 'expected-warnings.txt'), 'utf8'));
});

test('exit status 1 for an invalid config on standard input, nothing on stdout, no -o file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'metallb-ts-migrate-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.yaml');
  const r = metallbctl(['migrate', '-', '-o', out], 'address-pools:\n- {name: p, protocol: BGP, addresses: [192.0.2.0/24]}\n');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^<stdin>: invalid, 1 problem:\n {2}address-pools\[0\]\.protocol: /);
  assert.equal(existsSync(out), false);
});

test('exit status 2 for an unreadable file and for usage errors', () => {
  const r = metallbctl(['migrate', join(fixtures, 'does-not-exist.yaml')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot read .*does-not-exist\.yaml: no such file/);
  assert.equal(metallbctl(['migrate']).status, 2);
  const help = metallbctl(['migrate', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--from-cluster/);
});

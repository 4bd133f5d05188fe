// metallbctl version, run as a real process: the package version and the runtime it runs on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

const root = join(fileURLToPath(import.meta.url), '../../../../..');
const cli = join(root, 'dist/bin/metallbctl.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };

function metallbctl(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('version prints the package version and the Node.js version', () => {
  const r = metallbctl(['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^metallb-ts ${pkg.version.replace(/\./g, '\\.')}\\n`));
  assert.ok(r.stdout.includes(`Node.js ${process.version} (`), r.stdout);
});

test('version -o json', () => {
  const r = metallbctl(['version', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { version: string; node: string };
  assert.equal(v.version, pkg.version);
  assert.equal(v.node, process.version);
});

test('version refuses an unknown output format with exit 2', () => {
  const r = metallbctl(['version', '-o', 'xml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /-o must be text or json/);
});

test('the runtime the tests run on is a line package.json supports', () => {
  const major = Number(process.versions.node.split('.')[0]);
  const lines = [...pkg.engines.node.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]));
  assert.ok(lines.length > 0, `engines.node "${pkg.engines.node}" names no line`);
  assert.ok(lines.includes(major), `Node.js ${process.version} is not one of the supported lines ${lines.join(', ')}`);
});

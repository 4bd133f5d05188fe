// What `npm pack` ships: the product only (bin, lib, schema, manifests, the addon's sources and the
// runtime launcher), never the test rig, benchmarks or sandbox machinery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

const root = join(fileURLToPath(import.meta.url), '../../../../..');

function packedFiles(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { files: { path: string }[] }[];
  return out[0]!.files.map((f) => f.path);
}

test('npm pack carries only product files', () => {
  const files = packedFiles();
  const allowed = [/^dist\/(bin|lib)\//, /^schema\//, /^manifests\//, /^native\/(binding\.gyp|src\/)/,
    /^scripts\/(node|node-runtime\.sh|build-native\.mjs)$/, /^(package\.json|README\.md|LICENSE)$/];
  const foreign = files.filter((f) => !allowed.some((re) => re.test(f)));
  assert.deepEqual(foreign, [], `files outside the product: ${foreign.join(', ')}`);
  const rig = files.filter((f) => /(^|\/)(test|bench|sandbox|support)(\/|$)|reference-allocator|\.test\.js$/.test(f));
  assert.deepEqual(rig, [], `test-rig files in the package: ${rig.join(', ')}`);
});

test('every bin entry and the config schema are in the package', () => {
  const files = new Set(packedFiles());
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  for (const [name, path] of Object.entries(pkg.bin)) assert.ok(files.has(path), `bin ${name}: ${path} not packed`);
  assert.ok(files.has('schema/config.schema.json'));
});

test('test-only packages are devDependencies', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const p of ['node-forge', 'fast-check', 'typescript']) assert.ok(!(p in pkg.dependencies), `${p} is a runtime dependency`);
});

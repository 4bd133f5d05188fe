// Migrate oracle: upstream's own configmaptocrs golden files (go.universe.tf/metallb v0.13.x,
// configmaptocrs/testdata, read from the Go module cache at test time) as a second golden set for
// `metallbctl migrate`. Every case must give upstream's golden output byte for byte, except for the
// differences named below; each is listed and explained in docs/migrate.md ("Upstream's own
// golden files").
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { migrateCommand } from '../../../lib/migrate/command.js';
import { goModuleDir, MIGRATE_ORACLE_VERSION } from './upstream.js';

const dir = join(goModuleDir('go.universe.tf/metallb', MIGRATE_ORACLE_VERSION), 'configmaptocrs', 'testdata');

const work = mkdtempSync(join(tmpdir(), 'metallb-ts-migrate-oracle-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

/** `metallbctl migrate FILE` on the text (the real command function, as the CLI runs it). */
async function migrate(text: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(work, `input-${n++}.yaml`);
  writeFileSync(file, text);
  let stdout = '', stderr = '';
  const code = await migrateCommand([file], (s) => { stdout += s; }, (s) => { stderr += s; });
  return { code, stdout, stderr };
}

const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();

/**
 * The tolerated differences, by upstream case. Anything else that differs fails the test.
 *  - `l2-protocol`: full-config.yaml has a pool with `protocol: l2`. MetalLB v0.12 refuses that
 *    config (controller and speakers: unknown protocol "l2"); upstream's converter emits the pool
 *    without any advertisement. We refuse it (exit 1, nothing written). With the protocol spelt
 *    `layer2` we give upstream's golden plus the L2Advertisement upstream's converter itself emits
 *    for a layer2 pool (its shape taken from upstream's layer2-config.golden).
 */
const TOLERATED: Record<string, readonly string[]> = { 'full-config': ['l2-protocol'] };

test('the oracle has upstream\'s four cases', () => {
  for (const c of ['config', 'config-avoidbuggy', 'full-config', 'layer2-config']) assert.ok(cases.includes(c), `upstream testdata lacks ${c}.yaml (in ${dir})`);
});

for (const c of cases) {
  const input = readFileSync(join(dir, `${c}.yaml`), 'utf8');
  const golden = readFileSync(join(dir, `${c}.golden`), 'utf8');
  const tolerated = TOLERATED[c] ?? [];

  if (tolerated.length === 0) {
    test(`${c}: identical to upstream's golden output`, async () => {
      const r = await migrate(input);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, golden);
    });
    continue;
  }

  test(`${c}: differs from upstream only by ${tolerated.join(', ')}`, async () => {
    assert.deepEqual(tolerated, ['l2-protocol']);
    // as given: refused, with the same reason v0.12 itself gives
    const r = await migrate(input);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /address-pools\[\d+\]\.protocol: unknown protocol "l2"/);
    assert.equal((r.stderr.match(/refused by controller and speakers/g) ?? []).length, 1, `only the protocol is refused:\n${r.stderr}`);

    // spelt as v0.12 accepts it: upstream's golden plus the L2Advertisement for that pool
    const edited = input.replace(/^(\s*)protocol: l2$/m, '$1protocol: layer2');
    assert.notEqual(edited, input);
    const pool = (yaml.load((yaml.load(input) as { data: { config: string } }).data.config) as { 'address-pools': { name: string; protocol: string }[] })['address-pools'].find((p) => p.protocol === 'l2')!.name;
    const fixed = await migrate(edited);
    assert.equal(fixed.code, 0, fixed.stderr);
    const l2Golden = readFileSync(join(dir, 'layer2-config.golden'), 'utf8');
    const l2Doc = l2Golden.split('---\n').find((d) => /^kind: L2Advertisement$/m.test(d));
    assert.ok(l2Doc, 'upstream layer2-config.golden has an L2Advertisement');
    const l2Pool = /ipAddressPools:\n {2}- (\S+)/.exec(l2Doc)![1];
    const want = insertBeforeKinds(golden, l2Doc.replace(`  - ${l2Pool}\n`, `  - ${pool}\n`), ['BFDProfile', 'Community']);
    assert.equal(fixed.stdout, want);
  });
}

/** Inserts one document before the first document of any of the given kinds (upstream's kind order). */
function insertBeforeKinds(text: string, doc: string, kinds: readonly string[]): string {
  const header = text.slice(0, text.indexOf('\n') + 1);
  const docs = text.slice(header.length).split('---\n').filter((d) => d !== '');
  const at = docs.findIndex((d) => kinds.some((k) => new RegExp(`^kind: ${k}$`, 'm').test(d)));
  docs.splice(at < 0 ? docs.length : at, 0, doc);
  return header + docs.map((d) => `${d}---\n`).join('');
}

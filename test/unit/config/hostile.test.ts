// Hostile configs: prototype keys and configs built to cost a lot when refused. Checked through
// the shared parser, the speaker's config parse (both BGP modes) and metallbctl validate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MAX_PROBLEMS, parseConfig, refusals } from '../../../lib/config/parse.js';
import { speakerConfig } from '../../../lib/speaker/config.js';

const root = join(fileURLToPath(import.meta.url), '../../../../..');
const cli = join(root, 'dist/bin/metallbctl.js');

const POOL = '- name: p\n  protocol: layer2\n  addresses: [192.0.2.0/24]\n';
const PROTO_CASES: [string, string, string][] = [
  ['top level', `__proto__:\n  address-pools:\n  ${POOL.replace(/\n(?=.)/g, '\n  ')}`, '__proto__'],
  ['in a pool (hidden auto-assign)', `address-pools:\n${POOL}  __proto__: {auto-assign: false}\n`, 'address-pools[0].__proto__'],
  ['in a peer', 'peers:\n- {my-asn: 64512, peer-asn: 64500, peer-address: 192.0.2.1, __proto__: {ebgp-multihop: true}}\n', 'peers[0].__proto__'],
  ['in match-labels', 'peers:\n- my-asn: 64512\n  peer-asn: 64500\n  peer-address: 192.0.2.1\n  node-selectors:\n  - match-labels: {__proto__: {a: b}}\n', 'peers[0].node-selectors[0].match-labels.__proto__'],
  ['as a community alias', `bgp-communities: {__proto__: "1:2"}\naddress-pools:\n${POOL}`, 'bgp-communities.__proto__'],
  ['through a merge key', `x: &x {__proto__: {protocol: bgp}}\n`, 'x.__proto__'],
];

for (const [where, text, path] of PROTO_CASES) {
  test(`a __proto__ key ${where} is refused by the parser, every speaker mode and metallbctl`, () => {
    const r = parseConfig(text);
    assert.equal(r.config, undefined, 'the config was accepted');
    const p = r.problems.find((q) => q.path === path);
    assert.ok(p, `no problem at ${path}: ${JSON.stringify(r.problems)}`);
    assert.match(p.message, /"__proto__" is not allowed/);
    assert.equal(p.refusedBy, 'all');
    assert.ok(refusals(r, 'controller').length > 0);
    for (const mode of ['native', 'frr'] as const) {
      const s = speakerConfig(text, mode);
      assert.equal(s.ok, false, `${mode} speaker accepted it`);
    }
    const v = spawnSync(process.execPath, [cli, 'validate', '-'], { input: text, encoding: 'utf8' });
    assert.equal(v.status, 1, v.stdout + v.stderr);
    assert.match(v.stdout, /"__proto__" is not allowed/);
  });
}

test('no object of a parsed config has a foreign prototype, also with JavaScript-ish keys', () => {
  const text = `bgp-communities: {constructor: "1:2", toString: "3:4"}\naddress-pools:\n${POOL}  bgp-advertisements: [{communities: [constructor]}]\n`;
  const r = parseConfig(text.replace('protocol: layer2', 'protocol: bgp'));
  assert.ok(r.config, JSON.stringify(r.problems));
  const seen = new Set<object>();
  const names = new Set<string>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
    names.add(proto === null ? 'null' : String(proto.constructor?.name));
    if (v instanceof Map) for (const x of v.values()) walk(x);
    else for (const x of Object.values(v)) walk(x);
  };
  walk(r.raw);
  walk(r.config);
  for (const n of names) assert.ok(['Object', 'Array', 'Map', 'CIDR', 'IPAddress', 'null'].includes(n), `an object with prototype ${n}`);
  assert.equal(r.config.communities.get('constructor'), 65538);
  assert.equal(Object.getPrototypeOf(r.raw?.['bgp-communities']), Object.prototype);
  assert.ok(Object.hasOwn(r.raw?.['bgp-communities'] ?? {}, 'constructor'));
});

function aliasBomb(item: string): string {
  let t = `address-pools:\n- &a ${item}\n`;
  while (t.length < 1024 * 1024 - 10) t += '- *a\n';
  return t;
}

test('a 1 MiB config of aliases keeps at most MAX_PROBLEMS problems and counts the rest', () => {
  for (const item of ['{name: "", protocol: x, addresses: [x]}', '{name: [1], protocol: [], addresses: {a: b}, zz: 1}']) {
    const r = parseConfig(aliasBomb(item));
    assert.equal(r.config, undefined);
    assert.ok(r.problems.length <= MAX_PROBLEMS + 3, `${r.problems.length} problems kept`);
    const more = r.problems.find((p) => /^\.\.\. and \d+ more problems/.test(p.message));
    assert.ok(more, JSON.stringify(r.problems.slice(-3)));
    assert.ok(Number(/and (\d+) more/.exec(more.message)?.[1]) > 100_000, more.message);
    const s = speakerConfig(aliasBomb(item), 'native');
    assert.equal(s.ok, false);
    if (!s.ok) assert.ok(s.problems.join('; ').length < 64 * 1024, 'speaker refusal text is unbounded');
  }
});

test('a refused 1 MiB alias config stays within a 200 MB heap (child process)', () => {
  const script = `
    import { parseConfig } from ${JSON.stringify(new URL('../../../lib/config/parse.js', import.meta.url).href)};
    let t = 'address-pools:\\n- &a {name: "", protocol: x, addresses: [x]}\\n';
    while (t.length < 1024 * 1024 - 10) t += '- *a\\n';
    const r = parseConfig(t);
    console.log(r.problems.length);`;
  const r = spawnSync(process.execPath, ['--max-old-space-size=200', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.ok(Number(r.stdout.trim()) <= MAX_PROBLEMS + 3);
});

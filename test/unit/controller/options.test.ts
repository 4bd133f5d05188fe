// The controller's flags (lib/controller/options.ts): upstream's Go-style arguments are taken
// (this binary used to refuse `-port=7472`), defaults match upstream, the port is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseControllerFlags } from '../../../lib/controller/options.js';

test('upstream\'s manifest arguments, Go style and GNU style, give the same flags', () => {
  const go = parseControllerFlags(['-port=7472', '-config=config', '-log-level=info']);
  const gnu = parseControllerFlags(['--port', '7472', '--config', 'config', '--log-level', 'info']);
  assert.ok(go.ok && gnu.ok);
  assert.deepEqual(go, gnu);
  assert.equal(go.port, 7472);
  assert.equal(go.flags.config, 'config');
});

test('defaults and booleans', () => {
  const r = parseControllerFlags(['-disable-epslices', '-enable-pprof=false', '-ml-secret-name', 'memberlist']);
  assert.ok(r.ok);
  assert.equal(r.port, 7472);
  assert.equal(r.flags.config, 'config');
  assert.equal(r.flags['log-level'], 'info');
  assert.equal(r.flags['disable-epslices'], true);
  assert.equal(r.flags['enable-pprof'], false);
  assert.equal(r.flags['ml-secret-name'], 'memberlist');
  assert.equal(r.flags.namespace, undefined);
});

test('bad ports and unknown flags are refused with a message', () => {
  const cases: [string[], RegExp][] = [
    [['-port=70000'], /--port must be a TCP port, got "70000"/],
    [['-port=-1'], /--port must be a TCP port/],
    [['-port=7472x'], /--port must be a TCP port/],
    [['-port'], /flag needs an argument: -port/],
    [['-frobnicate'], /flag provided but not defined: -frobnicate/],
    [['stray'], /unexpected argument "stray"/],
  ];
  for (const [argv, message] of cases) {
    const r = parseControllerFlags(argv);
    assert.equal(r.ok, false, argv.join(' '));
    if (!r.ok) assert.match(r.error, message);
  }
  assert.equal(parseControllerFlags(['-port=0']).ok, true, 'port 0: any free port');
});

test('--lb-class: default empty (Services without a class), a class name, an invalid one refused', () => {
  const d = parseControllerFlags([]);
  assert.ok(d.ok);
  assert.equal(d.flags['lb-class'], '');
  const c = parseControllerFlags(['-lb-class=example.com/metallb']);
  assert.ok(c.ok);
  assert.equal(c.flags['lb-class'], 'example.com/metallb');
  const bad = parseControllerFlags(['--lb-class', 'two words']);
  assert.deepEqual(bad, { ok: false, error: '--lb-class "two words" is not a valid class name (e.g. example.com/metallb)' });
});

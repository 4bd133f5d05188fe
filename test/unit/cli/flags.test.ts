// The one flag parser (lib/cli/flags.ts): Go's flag syntax as upstream's manifests write it,
// GNU long options, booleans, short aliases, positionals and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags } from '../../../lib/cli/flags.js';

const SPECS = {
  port: { type: 'string', default: '7472' },
  kubeconfig: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'disable-epslices': { type: 'boolean', default: false },
  'enable-pprof': { type: 'boolean' },
} as const;

test('string flags in every form Go and GNU accept', () => {
  for (const argv of [['-port=80'], ['-port', '80'], ['--port=80'], ['--port', '80']]) {
    assert.equal(parseFlags(argv, SPECS).values.port, '80', argv.join(' '));
  }
  assert.equal(parseFlags([], SPECS).values.port, '7472', 'the default');
  assert.equal(parseFlags(['-port=1', '--port=2'], SPECS).values.port, '2', 'the last one wins');
  assert.equal(parseFlags(['--kubeconfig='], SPECS).values.kubeconfig, '', 'an explicit empty value');
  assert.equal(parseFlags(['--kubeconfig', '-x'], SPECS).values.kubeconfig, '-x', 'the next argument is the value, whatever it looks like');
  assert.equal(parseFlags(['-port=a=b'], SPECS).values.port, 'a=b');
});

test('booleans: bare is true, =value takes Go\'s ParseBool set, and never consume the next argument', () => {
  assert.equal(parseFlags(['-disable-epslices'], SPECS).values['disable-epslices'], true);
  assert.equal(parseFlags(['--disable-epslices'], SPECS).values['disable-epslices'], true);
  assert.equal(parseFlags([], SPECS).values['disable-epslices'], false);
  assert.equal(parseFlags([], SPECS).values['enable-pprof'], undefined);
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseFlags([`-enable-pprof=${v}`], SPECS).values['enable-pprof'], true, v);
  for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseFlags([`--enable-pprof=${v}`], SPECS).values['enable-pprof'], false, v);
  assert.throws(() => parseFlags(['-enable-pprof=yes'], SPECS), { name: 'FlagError', message: 'invalid boolean value "yes" for -enable-pprof' });
  const r = parseFlags(['-enable-pprof', 'false'], SPECS, { positionals: true });
  assert.equal(r.values['enable-pprof'], true);
  assert.deepEqual(r.positionals, ['false']);
});

test('short aliases and positionals (only where allowed), "--" ends the flags, "-" is a positional', () => {
  const r = parseFlags(['in.yaml', '-o', 'out.yaml', '-', '--', '--port=1'], SPECS, { positionals: true });
  assert.equal(r.values.output, 'out.yaml');
  assert.equal(r.values.port, '7472');
  assert.deepEqual(r.positionals, ['in.yaml', '-', '--port=1']);
  assert.equal(parseFlags(['-o=x'], SPECS).values.output, 'x');
  assert.throws(() => parseFlags(['stray'], SPECS), /unexpected argument "stray"/);
});

test('errors name the flag as Go does', () => {
  const cases: [string[], RegExp][] = [
    [['--no-such-flag'], /^flag provided but not defined: -no-such-flag$/],
    [['-no-such-flag=1'], /^flag provided but not defined: -no-such-flag$/],
    [['-port'], /^flag needs an argument: -port$/],
    [['---port=1'], /^bad flag syntax: ---port=1$/],
    [['-=1'], /^bad flag syntax: -=1$/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseFlags(argv, SPECS), (e: unknown) => e instanceof FlagError && message.test(e.message), argv.join(' '));
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpeakerOptions } from '../../../lib/speaker/options.js';
import { joinTargets, speakerPodIPs, usableSpeakers } from '../../../lib/speaker/speakerlist.js';

// upstream v0.12.1 manifest env + args
const manifestEnv = {
  METALLB_NODE_NAME: 'node-a',
  METALLB_HOST: '192.0.2.11',
  METALLB_ML_BIND_ADDR: '192.0.2.11',
  METALLB_ML_LABELS: 'app=metallb,component=speaker',
  METALLB_ML_SECRET_KEY: 'c2VjcmV0c2VjcmV0c2VjcmV0',
};

test('the upstream manifest\'s args and env', () => {
  const r = parseSpeakerOptions(['--port=7472', '--config=config', '--log-level=info'], manifestEnv);
  assert.ok(r.ok, r.ok ? '' : r.error);
  if (!r.ok) return;
  assert.deepEqual(r.options, {
    nodeName: 'node-a',
    host: '192.0.2.11',
    port: 7472,
    configName: 'config',
    namespace: undefined,
    kubeconfig: undefined,
    mlBindAddr: '192.0.2.11',
    mlBindPort: 7946,
    mlLabels: 'app=metallb,component=speaker',
    mlSecretKey: 'c2VjcmV0c2VjcmV0c2VjcmV0',
    memberlistEnabled: true,
    logLevel: 'info',
    disableEndpointSlices: false,
    enablePprof: false,
    bgpMode: 'native',
    lbClass: '',
    ignoreExcludeLB: false,
  });
});

const cases: [string, string[], Record<string, string>, Record<string, unknown> | string][] = [
  ['node name required', [], {}, 'must specify --node-name or METALLB_NODE_NAME'],
  ['flag wins over env', ['--node-name', 'b'], { METALLB_NODE_NAME: 'a' }, { nodeName: 'b' }],
  ['Go single-dash flags', ['-node-name', 'n', '-port=80', '-ml-bindport', '9000'], {}, { nodeName: 'n', port: 80, mlBindPort: 9000 }],
  ['ml port from env', ['--node-name=n'], { METALLB_ML_BIND_PORT: '7947' }, { mlBindPort: 7947 }],
  ['ml port must be an integer', ['--node-name=n'], { METALLB_ML_BIND_PORT: '79x' }, '--ml-bindport / METALLB_ML_BIND_PORT must be an integer, got "79x"'],
  ['port out of range', ['--node-name=n', '--port=70000'], {}, '--port must be at most 65535, got 70000'],
  ['memberlist off without labels', ['--node-name=n', '--ml-bindaddr=192.0.2.1'], {}, { memberlistEnabled: false }],
  ['memberlist off without bind address', ['--node-name=n'], { METALLB_ML_LABELS: 'app=metallb' }, { memberlistEnabled: false }],
  ['bool flags, Go forms', ['--node-name=n', '--disable-epslices', '-enable-pprof=false'], {}, { disableEndpointSlices: true, enablePprof: false }],
  ['bool flag =true', ['--node-name=n', '--disable-epslices=true'], {}, { disableEndpointSlices: true }],
  ['bad bool', ['--node-name=n', '--disable-epslices=maybe'], {}, 'invalid boolean value "maybe" for -disable-epslices'],
  ['log level checked', ['--node-name=n', '--log-level=verbose'], {}, '--log-level must be one of all, debug, info, warn, error, none, got "verbose"'],
  ['unknown flag', ['--node-name=n', '--frobnicate'], {}, 'flag provided but not defined: -frobnicate'],
  ['Go forms of every kind', ['-node-name=n', '--port', '80', '-disable-epslices', '-enable-pprof=true', '-config', 'cfg'], {},
    { nodeName: 'n', port: 80, disableEndpointSlices: true, enablePprof: true, configName: 'cfg' }],
  ['positional arguments refused', ['--node-name=n', 'extra'], {}, 'unexpected argument "extra"'],
  ['BGP type frr (no FRR implementation: refused)', ['--node-name=n'], { METALLB_BGP_TYPE: 'frr' }, 'METALLB_BGP_TYPE=frr is refused: this speaker has no FRR implementation (it speaks BGP itself), so FRR-only settings such as bfd-profile and keepalive-time would be accepted and then ignored; unset METALLB_BGP_TYPE or set it to "native"'],
  ['BGP type invalid', ['--node-name=n'], { METALLB_BGP_TYPE: 'bird' }, 'METALLB_BGP_TYPE must be "native" (or unset), got "bird"'],
  ['--lb-class', ['--node-name=n', '--lb-class=example.com/metallb'], {}, { lbClass: 'example.com/metallb' }],
  ['--lb-class must be a class name', ['--node-name=n', '--lb-class=not a class'], {}, '--lb-class "not a class" is not a valid class name (e.g. example.com/metallb)'],
  ['--ignore-exclude-lb, Go form', ['--node-name=n', '-ignore-exclude-lb=true'], {}, { ignoreExcludeLB: true }],
  ['namespace from env, kubeconfig flag', ['--node-name=n', '--kubeconfig', '/tmp/kc'], { METALLB_NAMESPACE: 'metallb-system' }, { namespace: 'metallb-system', kubeconfig: '/tmp/kc' }],
];

for (const [name, argv, env, want] of cases) {
  test(`speaker options: ${name}`, () => {
    const r = parseSpeakerOptions(argv, env);
    if (typeof want === 'string') {
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.error.includes(want), r.error);
      return;
    }
    assert.ok(r.ok, r.ok ? '' : r.error);
    if (r.ok) for (const [k, v] of Object.entries(want)) assert.deepEqual((r.options as unknown as Record<string, unknown>)[k], v, k);
  });
}

test('speakerlist: pod IPs, join targets, usable speakers', () => {
  assert.deepEqual(speakerPodIPs([{ status: { podIP: '192.0.2.1' } }, { status: {} }, { status: { podIP: '192.0.2.1' } }, {}, { status: { podIP: '192.0.2.2' } }]), ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(joinTargets(['192.0.2.1', '192.0.2.2', '192.0.2.3'], ['192.0.2.2']), ['192.0.2.1', '192.0.2.3']);
  assert.deepEqual(
    [...usableSpeakers([{ name: 'a', state: 'alive' }, { name: 'b', state: 'suspect' }, { name: 'c', state: 'dead' }, { name: 'd', state: 'left' }])],
    ['a', 'b'],
  );
});

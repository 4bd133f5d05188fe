import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_METRICS_BYTES, parseMetricsText, parseSampleLine } from '../../../lib/metrics/text-format.js';

test('text format: samples, labels with escapes, special values, timestamps; comments skipped', () => {
  const r = parseMetricsText([
    '# HELP metallb_bgp_session_up x', '# TYPE metallb_bgp_session_up gauge',
    'metallb_bgp_session_up{peer="198.51.100.1"} 1',
    'metallb_speaker_announced{ip="192.0.2.1",node="n1",protocol="layer2",service="a/b"} 1 1712345678901',
    'x{a="q\\"uote",b="back\\\\slash",c="new\\nline"} -2.5e3',
    'y +Inf', 'z NaN', '', 'no_value', 'bad{a=1} 2', 'dup{a="1",a="2"} 1', 'x{a="unterminated} 1',
  ].join('\n'));
  assert.equal(r.malformed, 4);
  assert.deepEqual(r.samples[0], { name: 'metallb_bgp_session_up', labels: { peer: '198.51.100.1' }, value: 1 });
  assert.deepEqual(r.samples[1].labels, { ip: '192.0.2.1', node: 'n1', protocol: 'layer2', service: 'a/b' });
  assert.deepEqual(r.samples[2], { name: 'x', labels: { a: 'q"uote', b: 'back\\slash', c: 'new\nline' }, value: -2500 });
  assert.equal(r.samples[3].value, Infinity);
  assert.ok(Number.isNaN(r.samples[4].value));
  const proto = parseSampleLine('m{__proto__="x"} 1');
  assert.equal(Object.getPrototypeOf(proto?.labels), Object.prototype);
  assert.equal(proto?.labels.__proto__ === 'x' || Object.getOwnPropertyDescriptor(proto?.labels, '__proto__')?.value === 'x', true);
});

test('text format: oversized input is cut, not held', () => {
  const line = 'a 1\n';
  const r = parseMetricsText(line.repeat(Math.ceil(MAX_METRICS_BYTES / line.length) + 10));
  assert.equal(r.truncated, true);
  assert.ok(r.samples.length <= MAX_METRICS_BYTES / line.length + 1);
});

test('fuzz: any text parses without throwing; a rendered sample reads back', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => { parseMetricsText(s); parseSampleLine(s); }), { numRuns: 3000 });
  const labelValue = fc.string({ maxLength: 20 });
  fc.assert(fc.property(fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), labelValue, { maxKeys: 4 }), fc.double({ noNaN: true }), (labels, value) => {
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const body = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
    const text = `m${body ? `{${body}}` : ''} ${Object.is(value, -0) ? '0' : String(value).replace('Infinity', 'Inf')}`;
    const s = parseSampleLine(text);
    assert.ok(s, text);
    assert.deepEqual(s.labels, { ...labels });
    assert.equal(s.value, Object.is(value, -0) ? 0 : value);
  }), { numRuns: 2000 });
});

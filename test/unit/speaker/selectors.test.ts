import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeSelector } from '../../../lib/config/types.js';
import { nodeSelectorsMatch, peersForNode, sameLabels, selectorMatches } from '../../../lib/speaker/selectors.js';
import { peer, selector } from './fixtures.js';

const labels = { 'kubernetes.io/hostname': 'node-a', rack: 'r1', 'topology.kubernetes.io/zone': 'z1', empty: '' };

// name, selectors (OR), expected match against `labels`
const cases: [string, NodeSelector[], boolean][] = [
  ['no selectors: every node', [], true],
  ['selector with neither part matches all', [selector()], true],
  ['match-labels equal', [selector({ rack: 'r1' })], true],
  ['match-labels differ', [selector({ rack: 'r2' })], false],
  ['match-labels key missing', [selector({ row: 'x' })], false],
  ['match-labels: all must hold', [selector({ rack: 'r1', 'topology.kubernetes.io/zone': 'z2' })], false],
  ['match-labels empty value equals empty label', [selector({ empty: '' })], true],
  ['match-labels empty value vs missing label', [selector({ missing: '' })], false],
  ['In hit', [selector({}, [{ key: 'rack', operator: 'In', values: ['r0', 'r1'] }])], true],
  ['In miss', [selector({}, [{ key: 'rack', operator: 'In', values: ['r0'] }])], false],
  ['In on missing label', [selector({}, [{ key: 'row', operator: 'In', values: ['r1'] }])], false],
  ['NotIn hit', [selector({}, [{ key: 'rack', operator: 'NotIn', values: ['r1'] }])], false],
  ['NotIn miss', [selector({}, [{ key: 'rack', operator: 'NotIn', values: ['r2'] }])], true],
  ['NotIn on missing label matches', [selector({}, [{ key: 'row', operator: 'NotIn', values: ['r1'] }])], true],
  ['Exists', [selector({}, [{ key: 'rack', operator: 'Exists', values: [] }])], true],
  ['Exists on empty-valued label', [selector({}, [{ key: 'empty', operator: 'Exists', values: [] }])], true],
  ['Exists missing', [selector({}, [{ key: 'row', operator: 'Exists', values: [] }])], false],
  ['DoesNotExist missing', [selector({}, [{ key: 'row', operator: 'DoesNotExist', values: [] }])], true],
  ['DoesNotExist present', [selector({}, [{ key: 'rack', operator: 'DoesNotExist', values: [] }])], false],
  ['prototype keys are not labels (Exists)', [selector({}, [{ key: 'constructor', operator: 'Exists', values: [] }])], false],
  ['prototype keys are not labels (DoesNotExist)', [selector({}, [{ key: 'toString', operator: 'DoesNotExist', values: [] }])], true],
  ['labels AND expressions: both hold', [selector({ rack: 'r1' }, [{ key: 'row', operator: 'DoesNotExist', values: [] }])], true],
  ['labels AND expressions: expression fails', [selector({ rack: 'r1' }, [{ key: 'rack', operator: 'NotIn', values: ['r1'] }])], false],
  ['expressions AND: one fails', [selector({}, [{ key: 'rack', operator: 'Exists', values: [] }, { key: 'row', operator: 'Exists', values: [] }])], false],
  ['OR across selectors: second matches', [selector({ rack: 'r9' }), selector({ 'kubernetes.io/hostname': 'node-a' })], true],
  ['OR across selectors: none matches', [selector({ rack: 'r9' }), selector({}, [{ key: 'rack', operator: 'In', values: ['r8'] }])], false],
];

for (const [name, selectors, want] of cases) {
  test(`node-selectors: ${name}`, () => {
    assert.equal(nodeSelectorsMatch(selectors, labels), want);
    assert.equal(nodeSelectorsMatch(selectors, new Map(Object.entries(labels))), want, 'Map labels agree');
  });
}

test('before the Node is seen (empty labels): select-all, NotIn and DoesNotExist peers apply', () => {
  const peers = [
    peer('192.0.2.1'),
    peer('192.0.2.2', { nodeSelectors: [selector({ rack: 'r1' })] }),
    peer('192.0.2.3', { nodeSelectors: [selector({}, [{ key: 'rack', operator: 'NotIn', values: ['r1'] }])] }),
    peer('192.0.2.4', { nodeSelectors: [selector({}, [{ key: 'rack', operator: 'DoesNotExist', values: [] }])] }),
    peer('192.0.2.5', { nodeSelectors: [selector({}, [{ key: 'rack', operator: 'Exists', values: [] }])] }),
  ];
  assert.deepEqual(peersForNode(peers, {}).map((p) => p.peerAddress.toString()), ['192.0.2.1', '192.0.2.3', '192.0.2.4']);
  assert.deepEqual(peersForNode(peers, labels).map((p) => p.peerAddress.toString()), ['192.0.2.1', '192.0.2.2', '192.0.2.5']);
});

test('selectorMatches on a single selector', () => {
  assert.equal(selectorMatches(selector({ rack: 'r1' }), labels), true);
});

test('sameLabels compares label sets', () => {
  assert.equal(sameLabels({ a: '1', b: '2' }, { b: '2', a: '1' }), true);
  assert.equal(sameLabels({ a: '1' }, { a: '2' }), false);
  assert.equal(sameLabels({ a: '1' }, { a: '1', b: '' }), false);
  assert.equal(sameLabels(new Map([['a', '1']]), { a: '1' }), true);
  assert.equal(sameLabels({}, {}), true);
});

// The allocator on a config produced by the real config parser (docs/behaviour/config.md#examples example X1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../lib/config/parse.js';
import { Allocator } from '../../../lib/allocator/index.js';
import { request, texts } from './helpers.js';
import { SPEC_X1 } from '../../support/spec-examples.js';

const X1 = SPEC_X1;

test('example X1: edge hands out .1 first, lan only on request, capacities as upstream reports', () => {
  const parsed = parseConfig(X1);
  assert.ok(parsed.config, `X1 should parse: ${parsed.problems.map((p) => p.message).join('; ')}`);
  const a = new Allocator();
  assert.deepEqual(a.setConfig(parsed.config), { ok: true, removedPools: [] });
  const first = a.allocate('default/web', request());
  assert.ok(first.ok);
  assert.deepEqual([texts(first.ips), first.pool], [['198.51.100.1'], 'edge']);
  const onLan = a.allocate('default/printer', request({ pool: 'lan' }));
  assert.ok(onLan.ok);
  assert.deepEqual(texts(onLan.ips), ['192.0.2.100']);
  const dual = a.allocate('default/both', request({ family: 'dual', pool: 'lan' }));
  assert.ok(dual.ok);
  assert.deepEqual(texts(dual.ips), ['192.0.2.101', '2001:db8:1::']);
  const v6auto = a.allocate('default/v6', request({ family: 'ipv6' }));
  assert.equal(v6auto.ok, false);
  assert.deepEqual(
    a.usage().map((u) => [u.pool, u.addressesInUse, u.addressesTotal, u.services]),
    [
      ['edge', 1, 254n, 1],
      ['lan', 3, 37n, 2],
    ],
  );
});

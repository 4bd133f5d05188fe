import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promqlMetricNames } from '../../support/promql.js';

test('promql names: selectors, functions, aggregations, label lists, durations, strings, numbers', () => {
  assert.deepEqual(promqlMetricNames('metallb_bgp_session_up == 0'), ['metallb_bgp_session_up']);
  assert.deepEqual(promqlMetricNames('max by (namespace, pod) (metallb_k8s_client_config_stale_bool) == 1'), ['metallb_k8s_client_config_stale_bool']);
  assert.deepEqual(promqlMetricNames('a_total / b_total > 0.9'), ['a_total', 'b_total']);
  assert.deepEqual(promqlMetricNames('sum by (pod) (rate(x_total{ip="1.2.3.4",job=~"a|b"}[5m]))'), ['x_total']);
  assert.deepEqual(promqlMetricNames('count by (node, protocol) (m == 1) and on (node) group_left (z) n offset 5m'), ['m', 'n']);
  assert.deepEqual(promqlMetricNames('histogram_quantile(0.99, sum without (le) (rate(h_bucket[1m]))) or vector(0)'), ['h_bucket']);
  assert.deepEqual(promqlMetricNames('1e3 * NaN'), []);
});

// The layer-2 counters carry upstream's names and the `ip` label.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { layer2PromCounters } from '../../../lib/layer2/metrics.js';

test('layer2 counters use upstream names and the ip label, and can be created twice per registry', async () => {
  const registry = new Registry();
  const c = layer2PromCounters(registry);
  c.requestReceived('198.51.100.200');
  c.responseSent('198.51.100.200');
  c.gratuitousSent('2001:db8::1');
  layer2PromCounters(registry).gratuitousSent('2001:db8::1');
  const text = await registry.metrics();
  assert.match(text, /^metallb_layer2_requests_received\{ip="198.51.100.200"\} 1$/m);
  assert.match(text, /^metallb_layer2_responses_sent\{ip="198.51.100.200"\} 1$/m);
  assert.match(text, /^metallb_layer2_gratuitous_sent\{ip="2001:db8::1"\} 2$/m);
  assert.match(text, /^# TYPE metallb_layer2_gratuitous_sent counter$/m);
});

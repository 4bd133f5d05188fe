// The speaker binary refuses bad flags and environment at start-up (docs/behaviour/speaker.md#flags): exit status 1
// and a message naming the problem, before touching the network or the API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './env.js';

const SPEAKER = join(root, 'dist', 'bin', 'speaker.js');

function run(args: string[], env: Record<string, string>): { status: number | null; stderr: string } {
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (k.startsWith('METALLB_')) delete clean[k];
  const r = spawnSync(process.execPath, [SPEAKER, ...args], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

const cases: { name: string; args: string[]; env: Record<string, string>; message: RegExp }[] = [
  { name: 'no node name', args: ['--namespace=metallb-system'], env: {}, message: /--node-name or METALLB_NODE_NAME/ },
  { name: 'memberlist port not an integer', args: ['--namespace=metallb-system'], env: { METALLB_NODE_NAME: 'n1', METALLB_ML_BIND_PORT: '79x' }, message: /must be an integer/ },
  // no FRR implementation: frr mode would accept bfd-profile/keepalive-time and ignore them
  { name: 'BGP type frr', args: ['--namespace=metallb-system'], env: { METALLB_NODE_NAME: 'n1', METALLB_BGP_TYPE: 'frr' }, message: /METALLB_BGP_TYPE=frr is refused: this speaker has no FRR implementation.*bfd-profile and keepalive-time/ },
  { name: 'unknown BGP type', args: ['--namespace=metallb-system'], env: { METALLB_NODE_NAME: 'n1', METALLB_BGP_TYPE: 'gobgp' }, message: /METALLB_BGP_TYPE/ },
  { name: 'unknown flag', args: ['--namespace=metallb-system', '--no-such-flag'], env: { METALLB_NODE_NAME: 'n1' }, message: /no-such-flag/ },
  { name: 'unknown memberlist timer profile', args: ['--namespace=metallb-system'], env: { METALLB_NODE_NAME: 'n1', METALLB_ML_TIMERS: 'slow' }, message: /METALLB_ML_TIMERS/ },
  { name: 'bad log level', args: ['--namespace=metallb-system', '--log-level=loud'], env: { METALLB_NODE_NAME: 'n1' }, message: /loud/ },
];

for (const c of cases) {
  test(`speaker start-up refused: ${c.name}`, () => {
    const r = run(c.args, c.env);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, c.message);
  });
}

// Where the benches find their real reference programs. Built on first use (never by
// scripts/setup.sh, since no test needs them): scripts/setup.d/70-bench-refs.sh for the programs
// driven against upstream's Go modules, scripts/upstream-binaries.sh for upstream's speaker and
// controller. Each helper returns the binary's path or throws with what to run.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cache = process.env.METALLB_TS_CACHE ?? '/var/cache/metallb-ts';

/** Builds (first use) and returns a reference of scripts/setup.d/70-bench-refs.sh. */
export function benchRef(name: 'allocbench' | 'configmaptocrs'): string {
  const out = execFileSync('bash', [join(root, 'scripts', 'setup.d', '70-bench-refs.sh'), name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bin = out.trim().split('\n').pop() ?? '';
  if (!existsSync(bin)) throw new Error(`70-bench-refs.sh ${name} printed no binary (${out})`);
  return bin;
}

/** Upstream MetalLB v0.12.1's speaker or controller, built from the Go module. */
export function upstreamBinary(name: 'speaker' | 'controller'): string {
  const script = join(root, 'scripts', 'upstream-binaries.sh');
  let dir = join(cache, 'upstream-v0.12.1', 'bin');
  if (existsSync(script)) dir = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? dir;
  const bin = join(dir, name);
  if (!existsSync(bin)) throw new Error(`upstream ${name} missing at ${bin}: run scripts/upstream-binaries.sh`);
  return bin;
}

#!/usr/bin/env node
// Builds the N-API addon (native/) with node-gyp against the headers of the Node.js that runs
// this script: an official Node.js build ships them in <prefix>/include/node, so the build works
// wherever Node is installed the official way (no distribution-specific paths, no download).
// node-gyp is npm's own (npm exports its path as npm_config_node_gyp to scripts) or a local one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const prefix = dirname(dirname(process.execPath));
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
if (!nodedir) {
  console.error(`build-native: ${join(prefix, 'include/node/node_api.h')} is missing: ` +
    'use an official Node.js build (scripts/node-runtime.sh installs one) or a distribution build with its headers');
  process.exit(1);
}
let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  try { gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'); } catch { gyp = undefined; }
}
if (!gyp) {
  const npmCli = process.env.npm_execpath;
  const candidate = npmCli ? join(dirname(dirname(npmCli)), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') : '';
  if (candidate && existsSync(candidate)) gyp = candidate;
}
if (!gyp) { console.error('build-native: node-gyp not found (run through npm, or install node-gyp)'); process.exit(1); }
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`],
  { cwd: join(root, 'native'), stdio: 'inherit' });
process.exit(r.status ?? 1);

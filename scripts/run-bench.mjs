#!/usr/bin/env node
// npm run bench -- <area> [args...]   runs dist/bench/<area>.js (e.g. allocator, bgp, memberlist)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [area, ...rest] = process.argv.slice(2);
const dir = join(root, 'dist', 'bench');
const known = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)) : [];
if (!area || !known.includes(area)) {
  console.error(`usage: npm run bench -- <area>   (areas: ${known.join(', ') || 'none built'})`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--expose-gc', join(dir, `${area}.js`), ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);

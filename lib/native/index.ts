// Loads the small N-API addon (native/). Built at install time by node-gyp (`npm run build:native`).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

/** Finds native/build/Release/metallb_native.node from lib/native (source) or dist/lib/native. */
function addonPath(): string {
  for (const up of ['../..', '../../..']) {
    const p = join(here, up, 'native', 'build', 'Release', 'metallb_native.node');
    if (existsSync(p)) return p;
  }
  throw new Error('native addon not built: run `npm run build:native` (needs g++, make and Node headers in /usr/include/node)');
}

let cached: unknown;
/** The raw addon exports; typed wrappers live next to their users (lib/layer2, lib/bgp). */
export function loadNative<T>(): T {
  if (cached === undefined) cached = createRequire(import.meta.url)(addonPath());
  return cached as T;
}

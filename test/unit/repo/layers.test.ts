// The import direction between layers (test/support/import-layers.ts, explained in
// CONTRIBUTING.md) holds for the whole tree, and the check fails on planted violations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLayers, importEdges } from '../../support/import-layers.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

test('the repository keeps the import direction between layers', () => {
  const edges = importEdges(root);
  assert.ok(edges.length > 500, `the checker sees the imports (${edges.length})`);
  assert.ok(edges.some((e) => e.from === 'bin/speaker.ts' && e.to === 'lib/speaker/daemon.ts'), 'relative imports are resolved');
  assert.deepEqual(checkLayers(root).map((v) => `${v.from}:${v.line} -> ${v.to}: ${v.rule}`), []);
});

test('planted violations are found, one per rule, and allowed imports are not', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const put = (p: string, s: string): void => {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), s);
  };
  put('bin/tool.ts', "import { x } from '../lib/speaker/daemon.js';\n");
  put('lib/speaker/daemon.ts', "import { peer } from '../../test/support/peer.js';\nimport { ok } from '../ip/index.js';\n");
  put('lib/util/oops.ts', "const m = await import('../../bin/tool.js');\n");
  put('lib/ip/address.ts', "import { readFileSync } from 'node:fs';\nimport { y } from '../config/types.js';\nimport net from 'node:net';\n");
  put('lib/config/parse.ts', "import { KubeConfig } from '@kubernetes/client-node';\nimport { ip } from '../ip/index.js';\n");
  put('lib/bgp/fsm.ts', "import { BGPConnection } from './connection.js';\nimport { x } from './codec.js';\n");
  put('lib/memberlist/scheduler.ts', "import { createSocket } from 'node:dgram';\n");
  put('test/unit/a.test.ts', "import { run } from '../../bench/allocator.js';\nimport { y } from '../../lib/ip/index.js';\n");
  // a core reaching a socket through a helper; a type-only import is no run-time dependency
  put('lib/speaker/decide.ts', "import { h } from './helper.js';\nimport type { Socket } from './sock-types.js';\n");
  put('lib/speaker/helper.ts', "import {\n  createServer,\n} from 'node:net';\n");
  put('lib/speaker/sock-types.ts', "import { Socket } from 'node:net';\n");
  // a comment mentioning an import is not one
  put('lib/allocator/x.ts', "// import { k } from '../k8s/client.js';\n");
  const got = checkLayers(dir).map((v) => `${v.from}:${v.line} -> ${v.to}`).sort();
  assert.deepEqual(got, [
    'lib/bgp/fsm.ts:1 -> lib/bgp/connection.ts',
    'lib/config/parse.ts:1 -> @kubernetes/client-node',
    'lib/ip/address.ts:1 -> node:fs',
    'lib/ip/address.ts:2 -> lib/config/types.ts',
    'lib/ip/address.ts:3 -> node:net',
    'lib/memberlist/scheduler.ts:1 -> node:dgram',
    'lib/speaker/daemon.ts:1 -> test/support/peer.ts',
    'lib/speaker/decide.ts:1 -> node:net (through lib/speaker/helper.ts)',
    'lib/util/oops.ts:1 -> bin/tool.ts',
    'test/unit/a.test.ts:1 -> bench/allocator.ts',
  ]);
});

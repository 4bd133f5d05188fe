// The repository is self-contained: no reference to behaviour documents outside it ("spec §",
// quirk codes, issue numbers, ../shared) and no link to a documentation anchor that does not
// exist (test/support/reference-scan.ts). The scanner is also run on a planted tree, so a
// scanner that finds nothing cannot pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanReferences } from '../../support/reference-scan.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

test('every reference resolves inside the repository, and every docs anchor exists', () => {
  const findings = scanReferences(root);
  assert.deepEqual(findings.map((f) => `${f.file}:${f.line}: ${f.kind}: ${f.text.slice(0, 120)}`), []);
});

test('the scanner finds each kind of violation in a planted tree', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'refscan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const put = (p: string, s: string): void => {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), s);
  };
  put('docs/behaviour/a.md', '# A\n\n<a id="real"></a>\n## Real\n');
  put('lib/ok.ts', '// see docs/behaviour/a.md#real and RFC 4271 §6.3, RFC 4760 §4; upstream issue #2005\n');
  put('lib/bad.ts', [
    '// as spec §2.3 says', // 1 section-sign
    '// quirk Q5', // 2 quirk-code
    '// done in issue 7', // 3 issue-number
    '// from ../shared/spec/x.md', // 4 outside-reference
    '// docs/behaviour/a.md#nowhere', // 5 missing-anchor
    '// docs/behaviour/missing.md', // 6 missing-file
  ].join('\n'));
  put('docs/guide.md', 'See [a](behaviour/a.md#real), [b](behaviour/a.md#gone) and [c](#nothing-here).\n\n## Heading here\n[d](#heading-here)\n');
  const got = scanReferences(dir).map((f) => `${f.file}:${f.line}:${f.kind}`);
  assert.deepEqual(got.sort(), [
    'docs/guide.md:1:missing-anchor',
    'docs/guide.md:1:missing-anchor',
    'lib/bad.ts:1:section-sign',
    'lib/bad.ts:2:quirk-code',
    'lib/bad.ts:3:issue-number',
    'lib/bad.ts:4:outside-reference',
    'lib/bad.ts:5:missing-anchor',
    'lib/bad.ts:6:missing-file',
  ].sort());
});

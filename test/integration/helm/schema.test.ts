// The chart as Helm sees it: `helm lint` is clean (also strict), values.schema.json is exactly what
// scripts/gen-chart-schema.mjs writes and embeds schema/config.schema.json unchanged (one source
// of truth for the configuration's shape), and Helm really applies that schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartDir, helm, render, repoRoot } from '../../support/helm.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'helm');

test('helm lint --strict reports no warning or error, with the defaults and with every fixture values file', async () => {
  for (const f of [undefined, 'seed-inline.yaml', 'existing-configmap.yaml', 'custom-images.yaml', 'scheduling.yaml', 'no-rbac.yaml', 'named-accounts.yaml', 'prometheus.yaml', 'legacy-keys.yaml']) {
    const r = await helm(['lint', '--strict', chartDir, ...(f ? ['-f', join(fixtures, f)] : [])]);
    assert.equal(r.code, 0, `${f ?? 'defaults'}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/, `${f ?? 'defaults'}: ${r.stdout}`);
  }
});

test('helm lint applies the schema to configInline and names the bad field', async () => {
  // (lint runs templates in lint mode, where `fail` only logs: the semantic checks need helm template/install)
  const r = await helm(['lint', chartDir, '--set', 'configInline.address-pools[0].nmae=a']);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, /at '\/configInline\/address-pools\/0': additional properties 'nmae' not allowed/);
});

test('values.schema.json is up to date with scripts/gen-chart-schema.mjs and schema/config.schema.json', () => {
  execFileSync(process.execPath, [join(repoRoot, 'scripts', 'gen-chart-schema.mjs'), '--check'], { stdio: 'pipe' });
});

test('values.schema.json embeds every definition of schema/config.schema.json, with only its references renamed', () => {
  const project = JSON.parse(readFileSync(join(repoRoot, 'schema', 'config.schema.json'), 'utf8')) as { definitions: Record<string, unknown>; properties: unknown; additionalProperties: unknown };
  const chart = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as { properties: { configInline: { $ref: string } }; definitions: Record<string, { properties?: unknown; additionalProperties?: unknown }> };
  const unrename = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replace(/"#\/definitions\/config\./g, '"#/definitions/'));
  assert.equal(chart.properties.configInline.$ref, '#/definitions/config');
  assert.deepEqual(unrename(chart.definitions.config.properties), project.properties);
  assert.equal(chart.definitions.config.additionalProperties, project.additionalProperties);
  for (const [name, def] of Object.entries(project.definitions)) {
    assert.deepEqual(unrename(chart.definitions[`config.${name}`]), def, `definition ${name}`);
  }
});

test('Helm applies the schema to the rest of the values too (an unknown logLevel fails and is named)', async () => {
  const r = await render({ values: [{ controller: { logLevel: 'verbose' } }] });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /\/controller\/logLevel/);
});

test('values this chart does not know are accepted (values files of other upstream versions still install)', async () => {
  const r = await render({ values: [{ someFutureKey: { a: 1 }, controller: { extraFutureKey: true } }] });
  assert.equal(r.code, 0, r.stderr);
});

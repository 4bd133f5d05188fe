// The chart and manifests/metallb.yaml must not drift: rendered with values that describe the
// manifests' install (existingConfigMap "config", scrape annotations on), the chart creates the
// same objects, and after mapping the chart's release-prefixed names onto the manifests' fixed
// names they are equal field by field: RBAC rules, bindings, container args, env, ports, probes,
// security contexts, scheduling. The only differences allowed are the labels (app.kubernetes.io/*
// in the chart, app/component in the manifests) and the memberlist label selector that follows
// them; for those the test checks each side is self-consistent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseObjects, render, repoRoot, type K8sObject } from '../../support/helm.js';

const manifests = parseObjects(readFileSync(join(repoRoot, 'manifests', 'metallb.yaml'), 'utf8'));
const RELEASE = 'metallb';
const FULLNAME = 'metallb-metallb-ts';
const VALUES = { existingConfigMap: 'config', prometheus: { scrapeAnnotations: true } };

/** chart name -> manifests name */
const NAME_MAP: Record<string, string> = {
  [`${FULLNAME}-controller`]: 'controller',
  [`${FULLNAME}-speaker`]: 'speaker',
  [`${FULLNAME}:controller`]: 'metallb-system:controller',
  [`${FULLNAME}:speaker`]: 'metallb-system:speaker',
  [`${FULLNAME}-config-watcher`]: 'config-watcher',
  [`${FULLNAME}-pod-lister`]: 'pod-lister',
  [`${FULLNAME}-memberlist`]: 'memberlist',
};

function mapNames(v: unknown): unknown {
  if (typeof v === 'string') return NAME_MAP[v] ?? v;
  if (Array.isArray(v)) return v.map(mapNames);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapNames(x)]));
  return v;
}

interface Env { name: string; value?: string }
interface PodTemplate { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: { containers: { env?: Env[] }[] } }

/** Drops labels and label selectors (the allowed difference); returns the memberlist selector separately. */
function strip(o: K8sObject): { body: Record<string, unknown>; mlLabels?: string; podLabels?: Record<string, string> } {
  const c = structuredClone(o) as K8sObject & { spec?: { selector?: unknown; template?: PodTemplate } };
  delete c.metadata.labels;
  let mlLabels: string | undefined;
  let podLabels: Record<string, string> | undefined;
  if (c.spec?.template) {
    podLabels = c.spec.template.metadata.labels;
    delete (c.spec.template.metadata as { labels?: unknown }).labels;
    delete c.spec.selector;
    for (const ctr of c.spec.template.spec.containers) {
      mlLabels = ctr.env?.find((e) => e.name === 'METALLB_ML_LABELS')?.value ?? mlLabels;
      ctr.env = ctr.env?.filter((e) => e.name !== 'METALLB_ML_LABELS');
    }
  }
  return { body: c as unknown as Record<string, unknown>, mlLabels, podLabels };
}

const key = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`;

test('the chart renders the same objects as manifests/metallb.yaml, with equal contents', async () => {
  const r = await render({ release: RELEASE, values: [VALUES] });
  assert.equal(r.code, 0, r.stderr);
  const chart = r.objects.map((o) => mapNames(o) as K8sObject);
  assert.deepEqual(chart.map(key).sort(), manifests.map(key).sort(), 'same kinds and (mapped) names');
  for (const m of manifests) {
    const c = chart.find((o) => key(o) === key(m))!;
    const sm = strip(m);
    const sc = strip(c);
    assert.deepEqual(sc.body, sm.body, `${key(m)} differs between the chart and manifests/metallb.yaml`);
    if (sm.mlLabels !== undefined || sc.mlLabels !== undefined) {
      for (const [side, s] of [['manifests', sm], ['chart', sc]] as const) {
        assert.ok(s.mlLabels, `${side}: ${key(m)} sets METALLB_ML_LABELS`);
        for (const term of s.mlLabels!.split(',')) {
          const [k, v] = term.split('=');
          assert.equal(s.podLabels?.[k], v, `${side}: the speaker's memberlist selector ${term} matches its own pods`);
        }
      }
    }
  }
});

test('the comparison notices a drift (a changed manifest field fails it)', async () => {
  const r = await render({ release: RELEASE, values: [VALUES, { speaker: { tolerateMaster: false } }] });
  assert.equal(r.code, 0, r.stderr);
  const chart = r.objects.map((o) => mapNames(o) as K8sObject);
  const m = manifests.find((o) => o.kind === 'DaemonSet')!;
  const c = chart.find((o) => key(o) === key(m))!;
  assert.notDeepEqual(strip(c).body, strip(m).body);
});

// The speaker's flags and environment (docs/behaviour/speaker.md#flags), parsed without side effects so the entry
// point stays wiring only. Flags take Go's syntax as well as GNU's (lib/cli/flags.ts), as in
// existing manifests; an explicit flag wins over its environment variable.

import { parseFlags, type FlagValues } from '../cli/flags.js';
import { toPinoLevel } from '../util/log.js';
import { parseBGPMode, type BGPMode } from './config.js';
import { validateLBClass } from '../k8s/ownership.js';

export interface SpeakerOptions {
  /** --node-name / METALLB_NODE_NAME: this node (required). */
  readonly nodeName: string;
  /** --host / METALLB_HOST: address the metrics server binds to; empty = all. */
  readonly host: string;
  /** --port: metrics port. */
  readonly port: number;
  /** --config: the ConfigMap's name. */
  readonly configName: string;
  /** --namespace / METALLB_NAMESPACE; undefined: the caller reads the service-account file. */
  readonly namespace: string | undefined;
  /** --kubeconfig; undefined: in-cluster credentials. */
  readonly kubeconfig: string | undefined;
  /** --ml-bindaddr / METALLB_ML_BIND_ADDR. */
  readonly mlBindAddr: string;
  /** --ml-bindport / METALLB_ML_BIND_PORT (TCP and UDP). */
  readonly mlBindPort: number;
  /** --ml-labels / METALLB_ML_LABELS: label selector of the speaker Pods. */
  readonly mlLabels: string;
  /** --ml-secret-key / METALLB_ML_SECRET_KEY: gossip encryption secret; empty = unencrypted. */
  readonly mlSecretKey: string;
  /** Memberlist runs only when both a bind address and a Pod label selector are given. */
  readonly memberlistEnabled: boolean;
  readonly logLevel: string;
  /** --disable-epslices: read Endpoints instead of EndpointSlices. */
  readonly disableEndpointSlices: boolean;
  /** --enable-pprof: accepted for compatibility (no effect). */
  readonly enablePprof: boolean;
  /** METALLB_BGP_TYPE: native (default); frr is refused at start-up (no FRR implementation). */
  readonly bgpMode: BGPMode;
  /** --lb-class: the loadBalancerClass handled ('' = Services without a class). */
  readonly lbClass: string;
  /** --ignore-exclude-lb: announce even from nodes labelled exclude-from-external-load-balancers. */
  readonly ignoreExcludeLB: boolean;
}

export type SpeakerOptionsResult = { ok: true; options: SpeakerOptions } | { ok: false; error: string };

const FLAGS = {
  'node-name': { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, config: { type: 'string' },
  namespace: { type: 'string' }, kubeconfig: { type: 'string' }, 'ml-bindaddr': { type: 'string' }, 'ml-bindport': { type: 'string' },
  'ml-labels': { type: 'string' }, 'ml-secret-key': { type: 'string' }, 'log-level': { type: 'string' },
  'lb-class': { type: 'string' },
  'disable-epslices': { type: 'boolean' }, 'enable-pprof': { type: 'boolean' }, 'ignore-exclude-lb': { type: 'boolean' },
} as const;

function port(text: string, what: string): number | string {
  if (!/^[0-9]+$/.test(text)) return `${what} must be an integer, got "${text}"`;
  const n = Number(text);
  if (n > 65535) return `${what} must be at most 65535, got ${n}`;
  return n;
}

export function parseSpeakerOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SpeakerOptionsResult {
  let values: FlagValues<typeof FLAGS>;
  try {
    values = parseFlags(argv, FLAGS).values;
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const nodeName = values['node-name'] ?? env.METALLB_NODE_NAME ?? '';
  if (nodeName === '') return { ok: false, error: 'must specify --node-name or METALLB_NODE_NAME' };
  const metricsPort = port(values.port ?? '7472', '--port');
  if (typeof metricsPort === 'string') return { ok: false, error: metricsPort };
  const mlPort = port(values['ml-bindport'] ?? env.METALLB_ML_BIND_PORT ?? '7946', '--ml-bindport / METALLB_ML_BIND_PORT');
  if (typeof mlPort === 'string') return { ok: false, error: mlPort };
  const logLevel = values['log-level'] ?? 'info';
  try {
    toPinoLevel(logLevel);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  let bgpMode: BGPMode;
  try {
    bgpMode = parseBGPMode(env.METALLB_BGP_TYPE);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const lbClass = values['lb-class'] ?? '';
  const lbClassProblem = validateLBClass(lbClass);
  if (lbClassProblem) return { ok: false, error: lbClassProblem };
  const mlBindAddr = values['ml-bindaddr'] ?? env.METALLB_ML_BIND_ADDR ?? '';
  const mlLabels = values['ml-labels'] ?? env.METALLB_ML_LABELS ?? '';
  const namespace = values.namespace ?? env.METALLB_NAMESPACE;
  return {
    ok: true,
    options: {
      nodeName,
      host: values.host ?? env.METALLB_HOST ?? '',
      port: metricsPort,
      configName: values.config ?? 'config',
      namespace: namespace === '' ? undefined : namespace,
      kubeconfig: values.kubeconfig === '' ? undefined : values.kubeconfig,
      mlBindAddr,
      mlBindPort: mlPort,
      mlLabels,
      mlSecretKey: values['ml-secret-key'] ?? env.METALLB_ML_SECRET_KEY ?? '',
      memberlistEnabled: mlBindAddr !== '' && mlLabels !== '',
      logLevel,
      disableEndpointSlices: values['disable-epslices'] ?? false,
      enablePprof: values['enable-pprof'] ?? false,
      bgpMode,
      lbClass,
      ignoreExcludeLB: values['ignore-exclude-lb'] ?? false,
    },
  };
}

// The controller's flags (docs/behaviour/controller.md#flags), parsed without side effects so the entry point stays
// wiring only. Go's flag syntax and GNU's are both accepted (lib/cli/flags.ts).
import { parseFlags, type FlagValues } from '../cli/flags.js';
import { validateLBClass } from '../k8s/ownership.js';

export const CONTROLLER_FLAGS = {
  port: { type: 'string', default: '7472' },
  config: { type: 'string', default: 'config' },
  'log-level': { type: 'string', default: 'info' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  'ml-secret-name': { type: 'string' },
  deployment: { type: 'string' },
  'lb-class': { type: 'string', default: '' },
  'disable-epslices': { type: 'boolean', default: false },
  'enable-pprof': { type: 'boolean', default: false },
} as const;

export type ControllerFlagsResult = { ok: true; flags: FlagValues<typeof CONTROLLER_FLAGS>; port: number } | { ok: false; error: string };

/** Parses the controller's command line; the metrics port is checked here too. */
export function parseControllerFlags(argv: readonly string[]): ControllerFlagsResult {
  let flags: FlagValues<typeof CONTROLLER_FLAGS>;
  try {
    flags = parseFlags(argv, CONTROLLER_FLAGS).values;
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const port = /^[0-9]+$/.test(flags.port) ? Number(flags.port) : NaN;
  if (!Number.isInteger(port) || port > 65535) return { ok: false, error: `--port must be a TCP port, got "${flags.port}"` };
  const lbClassProblem = validateLBClass(flags['lb-class']);
  if (lbClassProblem) return { ok: false, error: lbClassProblem };
  return { ok: true, flags, port };
}

// The speaker's view of the `config` ConfigMap (docs/behaviour/config.md#mode-validation, docs/behaviour/speaker.md#config): the shared parser plus the
// validator of the speaker's BGP mode (METALLB_BGP_TYPE: native, the default, or frr). Missing
// key or empty text is an empty, valid config; a missing ConfigMap is handled by the caller
// (SpeakerState.configMissing: old config stays).

import { formatProblem, parseConfig, refusals, type Config } from '../config/index.js';

export type BGPMode = 'native' | 'frr';

/**
 * Reads METALLB_BGP_TYPE: unset/empty means native; anything else is an error. "frr" is refused
 * on purpose: this speaker has no FRR implementation, and running its own BGP under FRR-mode
 * config rules would accept settings it does not implement (bfd-profile, bfd-profiles,
 * keepalive-time) and ignore them without a word. speakerConfig() keeps the FRR-mode validator
 * for tools that compare the two rule sets.
 */
export function parseBGPMode(value: string | undefined): BGPMode {
  if (value === undefined || value === '' || value === 'native') return 'native';
  if (value === 'frr') {
    throw new Error('METALLB_BGP_TYPE=frr is refused: this speaker has no FRR implementation (it speaks BGP itself), so FRR-only settings such as bfd-profile and keepalive-time would be accepted and then ignored; unset METALLB_BGP_TYPE or set it to "native"');
  }
  throw new Error(`METALLB_BGP_TYPE must be "native" (or unset), got "${value}"`);
}

export type SpeakerConfigResult = { ok: true; config: Config } | { ok: false; reason: string; problems: readonly string[] };

/** Parses the ConfigMap's `config` text as a speaker of the given mode would. */
export function speakerConfig(text: string | undefined, mode: BGPMode): SpeakerConfigResult {
  const result = parseConfig(text ?? '');
  const refused = refusals(result, mode === 'native' ? 'native-speaker' : 'frr-speaker');
  if (refused.length > 0 || !result.config) {
    const problems = refused.map(formatProblem);
    return { ok: false, reason: problems[0] ?? 'config refused', problems };
  }
  return { ok: true, config: result.config };
}

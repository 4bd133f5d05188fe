// The legacy `config` ConfigMap format: parse, validate, summarise.
export * from './types.js';
export { parseConfig, refusals, formatProblem, parseCommunity, MAX_CONFIG_BYTES, type ParseResult, type Component } from './parse.js';
export { readConfigInput, InputError, type ConfigInput } from './input.js';
export { summarize, type ConfigSummary, type PoolSummary, type PeerSummary } from './summary.js';

#!/usr/bin/env node
// Entry point of the speaker: wiring only (flags, env, signals). Not implemented yet.
console.error('metallb-speaker: not implemented yet');
process.exit(1);

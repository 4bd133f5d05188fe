#!/usr/bin/env node
// Entry point of the controller: wiring only (flags, env, signals). Not implemented yet.
console.error('metallb-controller: not implemented yet');
process.exit(1);

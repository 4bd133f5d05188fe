// The speaker's pure decision core (docs/behaviour/speaker.md, docs/behaviour/metrics.md#metrics): who announces what, over which protocol.
//
//   const state = new SpeakerState({ nodeName, usableSpeakers: memberlistEnabled ? new Set([nodeName]) : null });
//   state.setConfig(config)                 -> { status: 'adopted', reprocess, peers } | refused | rejected
//   state.setNodeLabels(labels)             -> PeerChanges (sessions to open/close) | undefined
//   state.updateService(key, svc)           -> ServiceEffects (layer2 announce/release, BGP route
//   state.updateEndpoints(key, readiness)      changes, announced-metric series, nodeAssigned event)
//   state.setUsableSpeakers(members)        -> keys whose layer 2 election may change; reconcile(key) each
//   state.routes.routes()                   -> the full route set for a new BGP session
export * from './advertisements.js';
export * from './config.js';
export * from './decide.js';
export * from './election.js';
export * from './endpoints.js';
export * from './events.js';
export * from './options.js';
export * from './peers.js';
export * from './pools.js';
export * from './selectors.js';
export * from './speakerlist.js';
export * from './state.js';

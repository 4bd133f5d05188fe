// metallbctl migrate: legacy `config` ConfigMap -> objects of the CRD-based API (docs/behaviour/migration.md).
export { convertConfig, goDuration, withoutLeadingZeros, API_VERSION, KIND_ORDER, DEFAULT_NAMESPACE, MAX_CRD_PEER_PORT, type ConversionResult, type ConversionOptions, type GeneratedObject, type Kind, type MigrationNote } from './convert.js';
export { convertName, objectNameProblem, namespaceProblem, type NameConversion } from './names.js';
export { dumpDocuments, dumpObject, yaml11Ambiguous, HEADER } from './yaml.js';
export { migrateText, type MigrationOutcome } from './migrate.js';
export { writeFileAtomic } from './write.js';

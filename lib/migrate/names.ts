// Object names for the CRD-based API (docs/behaviour/migration.md#names). Legacy pool and BFD profile names have no
// character restrictions; Kubernetes object names do. Upstream's converter (v0.13.11+) keeps a
// name that matches KEEP_PATTERN and otherwise cuts, lower-cases, replaces "_" with "-" and
// drops everything before the first letter. It fixes nothing else, so a name can still be
// unusable afterwards ("a/b", "pool-"): this module reports that as a problem instead of
// emitting an object the API server would refuse.

const KEEP_PATTERN = /^[a-z][-a-z0-9]{0,61}[a-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_CUT = 63;

export type NameConversion =
  | { readonly ok: true; readonly name: string; readonly changed: boolean }
  | { readonly ok: false; readonly reason: string };

/** Upstream's conversion rule (docs/behaviour/migration.md#names), plus a check that the result is a valid object name. */
export function convertName(name: string): NameConversion {
  if (KEEP_PATTERN.test(name)) return { ok: true, name, changed: false };
  // "first 63 characters": upstream cuts bytes of a Go string; names are ASCII in practice,
  // and cutting code points keeps a multi-byte character whole (it is refused below anyway).
  let converted = Array.from(name).slice(0, MAX_CUT).join('').toLowerCase().replaceAll('_', '-');
  const firstLetter = converted.search(/[a-z]/);
  if (firstLetter < 0) return { ok: false, reason: `"${name}" has no letter a-z, so it cannot be made a Kubernetes name` };
  converted = converted.slice(firstLetter);
  const problem = objectNameProblem(converted);
  if (problem) return { ok: false, reason: `"${name}" converts to "${converted}", which ${problem}` };
  return { ok: true, name: converted, changed: converted !== name };
}

/** Undefined when `name` is a valid metadata.name for a custom resource (a DNS-1123 subdomain). */
export function objectNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return 'is not a valid Kubernetes object name (lower-case letters, digits, "-" and ".", starting and ending with a letter or digit)';
  }
  return undefined;
}

/** Undefined when `ns` is a valid namespace name (a DNS-1123 label). */
export function namespaceProblem(ns: string): string | undefined {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63) {
    return `"${ns}" is not a valid namespace name (at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit)`;
  }
  return undefined;
}

// Kubernetes label key and value syntax (used by node-selectors).

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Undefined when valid, else the reason. */
export function labelKeyProblem(key: string): string | undefined {
  if (key === '') return 'label key is empty';
  const slash = key.indexOf('/');
  let name = key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      return `label key "${key}": prefix must be a DNS subdomain (lower-case alphanumerics, "-" and ".", at most 253 characters)`;
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    return `label key "${key}": name must be 1-63 characters, alphanumeric at both ends, with "-", "_" or "." inside`;
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) {
    return `label value "${value}" must be empty or 1-63 characters, alphanumeric at both ends, with "-", "_" or "." inside`;
  }
  return undefined;
}

// A short, stable name for one config text: the first 12 hex digits of its SHA-256, prefixed
// "sha256:". The controller names the content it adopts in its ConfigLoaded Event with it, and
// `metallbctl status` compares it with the ConfigMap's current content.
import { createHash } from 'node:crypto';

export function configDigest(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12)}`;
}

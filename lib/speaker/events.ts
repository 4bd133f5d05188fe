// Events the speaker writes on Services (docs/behaviour/speaker.md#pipeline). Upstream emits exactly one kind: a Normal
// `nodeAssigned` event on every successful announce pass, from every announcing node. The
// Kubernetes event recorder aggregates identical events, so repeats cost a counter bump.

export interface SpeakerEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** Go's %q for the printable ASCII names Kubernetes allows; other characters escaped. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch; // printable non-ASCII stays as is, as in Go
  }
  return `${out}"`;
}

export const NODE_ASSIGNED = 'nodeAssigned';

/** `nodeAssigned`: `announcing from node "<node>"`. */
export function nodeAssignedEvent(nodeName: string): SpeakerEvent {
  return { type: 'Normal', reason: NODE_ASSIGNED, message: `announcing from node ${goQuote(nodeName)}` };
}

// The BGP finite state machine of one session (RFC 4271 §8, active side only), without sockets
// or timers: our OPEN, the checks of the peer's OPEN, what is negotiated, and what each message
// from the peer does in each state. The session (session.ts) carries the steps out.

import type { IPAddress } from '../ip/index.js';
import { AFI, AS_TRANS, BGP_VERSION, SAFI, capabilitiesOf, type BGPMessage, type Capability, type OpenMessage } from './codec.js';
import { BGPMessageError, ErrorCode, FSMSubcode, OpenSubcode, errorCodeName, errorSubcodeName } from './errors.js';

export type SessionState = 'idle' | 'connect' | 'open-sent' | 'open-confirm' | 'established' | 'closed';

/** What the session was configured with, as far as the FSM is concerned. */
export interface FSMConfig {
  readonly myASN: number;
  readonly peerASN: number;
  /** Proposed hold time (0 or 3..65535 s). */
  readonly holdTimeSeconds: number;
}

/** What the OPEN exchange settled for one connection. */
export interface Negotiated {
  readonly fourOctetAS: boolean;
  readonly families: ReadonlySet<4 | 6>;
  readonly holdTimeSeconds: number;
  readonly peerRouterID: IPAddress;
}

export interface Notify {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Buffer;
}

/** The reaction to one message from the peer. */
export type FSMStep =
  | { readonly action: 'none' }
  /** The peer's OPEN is acceptable: send KEEPALIVE, go to open-confirm. */
  | { readonly action: 'open-confirm'; readonly negotiated: Negotiated }
  /** KEEPALIVE in open-confirm: the session is established. */
  | { readonly action: 'establish' }
  /** ROUTE-REFRESH for a negotiated family: re-send that family's routes. */
  | { readonly action: 'refresh'; readonly family: 4 | 6 }
  /** The peer sent a NOTIFICATION: close without answering. */
  | { readonly action: 'notified'; readonly reason: string; readonly names: string; readonly code: number; readonly subcode: number; readonly data: Buffer }
  /** Close the connection, sending `notify`. `refusedOpen` when the peer's OPEN was unacceptable. */
  | { readonly action: 'drop'; readonly reason: string; readonly notify: Notify; readonly refusedOpen?: BGPMessageError };

/** Our OPEN: IPv4 and IPv6 unicast, route refresh, 4-octet AS (AS_TRANS in the 2-octet field when needed). */
export function openMessage(cfg: FSMConfig, routerID: IPAddress): OpenMessage {
  return {
    type: 'open',
    version: BGP_VERSION,
    myAS: cfg.myASN > 0xffff ? AS_TRANS : cfg.myASN,
    holdTime: cfg.holdTimeSeconds,
    bgpIdentifier: routerID,
    capabilities: [
      { kind: 'multiprotocol', afi: AFI.IPv4, safi: SAFI.Unicast },
      { kind: 'multiprotocol', afi: AFI.IPv6, safi: SAFI.Unicast },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', asn: cfg.myASN },
    ],
  };
}

/** Checks the peer's OPEN; returns the error (and NOTIFICATION) when it is unacceptable. */
export function validateOpen(open: OpenMessage, cfg: FSMConfig, routerID: IPAddress | undefined): BGPMessageError | undefined {
  const caps = capabilitiesOf(open);
  const peerAS = caps.fourOctetASN ?? open.myAS;
  const as2 = Buffer.alloc(2);
  as2.writeUInt16BE(open.myAS);
  if (open.version !== BGP_VERSION) {
    return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedVersionNumber, 19, `peer speaks BGP version ${open.version}, we speak 4`, Buffer.from([0, BGP_VERSION]));
  }
  if (peerAS !== cfg.peerASN) {
    return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.BadPeerAS, 20, `peer AS is ${peerAS}, expected ${cfg.peerASN}`, as2);
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.UnacceptableHoldTime, 22, `peer hold time ${open.holdTime} s is neither 0 nor at least 3 s`);
  }
  if (open.bgpIdentifier.value === 0n || (cfg.myASN === cfg.peerASN && routerID && open.bgpIdentifier.equals(routerID))) {
    return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.BadBGPIdentifier, 24, `peer BGP identifier ${open.bgpIdentifier.toString()} is unusable`);
  }
  if (cfg.myASN > 0xffff && caps.fourOctetASN === undefined) {
    const cap: Capability = { kind: 'four-octet-as', asn: cfg.myASN };
    const data = Buffer.from([65, 4, 0, 0, 0, 0]);
    data.writeUInt32BE(cap.asn, 2);
    return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedCapability, 29, `my ASN ${cfg.myASN} needs 4 octets and the peer lacks the 4-octet AS capability`, data);
  }
  return undefined;
}

/** What an acceptable OPEN gives: 4-octet AS, unicast families, the smaller hold time. */
export function negotiate(open: OpenMessage, cfg: FSMConfig): Negotiated {
  const caps = capabilitiesOf(open);
  const families = new Set<4 | 6>();
  // RFC 4760: a peer without multiprotocol capabilities speaks IPv4 unicast only
  const peerFamilies = caps.multiprotocol.length === 0 ? [{ afi: AFI.IPv4, safi: SAFI.Unicast }] : caps.multiprotocol;
  for (const f of peerFamilies) {
    if (f.safi !== SAFI.Unicast) continue;
    if (f.afi === AFI.IPv4) families.add(4);
    if (f.afi === AFI.IPv6) families.add(6);
  }
  return {
    fourOctetAS: caps.fourOctetASN !== undefined,
    families,
    holdTimeSeconds: Math.min(cfg.holdTimeSeconds, open.holdTime),
    peerRouterID: open.bgpIdentifier,
  };
}

/**
 * The step for one (decoded) message from the peer in `state`. `routerID` is ours on this
 * connection, `families` what was negotiated (empty before open-confirm).
 */
export function receive(state: SessionState, msg: BGPMessage, cfg: FSMConfig, routerID: IPAddress | undefined, families: ReadonlySet<4 | 6>): FSMStep {
  if (msg.type === 'notification') {
    const names = `${errorCodeName(msg.code)} / ${errorSubcodeName(msg.code, msg.subcode)}`;
    return { action: 'notified', reason: `peer sent NOTIFICATION ${names}`, names, code: msg.code, subcode: msg.subcode, data: msg.data };
  }
  const fsmError = (subcode: number): FSMStep =>
    ({ action: 'drop', reason: `unexpected ${msg.type} in state ${state}`, notify: { code: ErrorCode.FiniteStateMachine, subcode } });
  switch (state) {
    case 'open-sent': {
      if (msg.type !== 'open') return fsmError(FSMSubcode.UnexpectedMessageInOpenSent);
      const problem = validateOpen(msg, cfg, routerID);
      if (problem) {
        return { action: 'drop', reason: `unacceptable OPEN: ${problem.detail}`, notify: { code: problem.code, subcode: problem.subcode, data: problem.data }, refusedOpen: problem };
      }
      return { action: 'open-confirm', negotiated: negotiate(msg, cfg) };
    }
    case 'open-confirm':
      if (msg.type !== 'keepalive') return fsmError(FSMSubcode.UnexpectedMessageInOpenConfirm);
      return { action: 'establish' };
    case 'established':
      if (msg.type === 'open') return fsmError(FSMSubcode.UnexpectedMessageInEstablished);
      if (msg.type === 'route-refresh' && msg.subtype === 0 && msg.safi === SAFI.Unicast) {
        const family = msg.afi === AFI.IPv4 ? 4 : msg.afi === AFI.IPv6 ? 6 : undefined;
        if (family && families.has(family)) return { action: 'refresh', family };
      }
      // UPDATEs from the peer are validated (decoded) and otherwise ignored, like upstream
      return { action: 'none' };
    default:
      return { action: 'none' };
  }
}

// memberlist message bodies (docs/behaviour/memberlist-wire.md#message-types, docs/behaviour/memberlist-wire.md#bodies): one pure encode/decode pair per struct, with the
// Go field names as keys, written in Go's sorted key order. Decoders take zero values for
// missing keys and skip unknown ones, as Go does.

import { MsgpackReader, MsgpackWriter } from './msgpack.js';

/** Message type byte (declaration order in memberlist's net.go; never renumbered). */
export const MessageType = {
  ping: 0,
  indirectPing: 1,
  ack: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  user: 8,
  compress: 9,
  encrypt: 10,
  nack: 11,
  hasCrc: 12,
  err: 13,
  hasLabel: 244,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

const U8 = 0xff;
const U16 = 0xffff;
const U32 = 0xffffffff;
/** Go `int` fields (Nodes, UserStateLen, State, UserMsgLen): non-negative, bounded for JS. */
const GO_INT = Number.MAX_SAFE_INTEGER;

export interface Ping {
  seqNo: number;
  /** Name of the node the ping is meant for; empty matches any. */
  node: string;
  /** v0.2.0+ optional reply address; never sent by us (v0.1.7 compatibility). */
  sourceAddr?: Buffer | null;
  sourcePort?: number;
  sourceNode?: string;
}

export interface IndirectPing {
  seqNo: number;
  target: Buffer | null;
  port: number;
  node: string;
  nack: boolean;
  sourceAddr?: Buffer | null;
  sourcePort?: number;
  sourceNode?: string;
}

export interface Ack {
  seqNo: number;
  payload: Buffer | null;
}

export interface Nack {
  seqNo: number;
}

export interface Suspect {
  incarnation: number;
  node: string;
  from: string;
}

export interface Alive {
  incarnation: number;
  node: string;
  addr: Buffer | null;
  port: number;
  meta: Buffer | null;
  vsn: Buffer | null;
}

export interface Dead {
  incarnation: number;
  node: string;
  from: string;
}

export interface PushPullHeader {
  nodes: number;
  userStateLen: number;
  join: boolean;
}

/** Node states as pushNodeState.State carries them. */
export const NodeStateCode = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;

export interface PushNodeState {
  name: string;
  addr: Buffer | null;
  port: number;
  meta: Buffer | null;
  incarnation: number;
  state: number;
  vsn: Buffer | null;
}

export interface Compress {
  algo: number;
  buf: Buffer | null;
}

export interface ErrResp {
  error: string;
}

export interface UserMsgHeader {
  userMsgLen: number;
}

// ---- ping ----------------------------------------------------------------------------------

function hasSource(m: { sourceAddr?: Buffer | null; sourcePort?: number; sourceNode?: string }): boolean {
  return (m.sourceAddr != null && m.sourceAddr.length > 0) || (m.sourcePort ?? 0) !== 0 || (m.sourceNode ?? '') !== '';
}

function writeSource(w: MsgpackWriter, m: { sourceAddr?: Buffer | null; sourcePort?: number; sourceNode?: string }): void {
  w.key('SourceAddr').bytes(m.sourceAddr ?? null);
  w.key('SourceNode').str(m.sourceNode ?? '');
  w.key('SourcePort').uint(m.sourcePort ?? 0);
}

export function writePing(w: MsgpackWriter, m: Ping): void {
  const src = hasSource(m);
  w.mapHeader(src ? 5 : 2);
  w.key('Node').str(m.node);
  w.key('SeqNo').uint(m.seqNo);
  if (src) writeSource(w, m);
}

export function readPing(r: MsgpackReader): Ping {
  const m: Ping = { seqNo: 0, node: '' };
  r.struct('ping', (k) => {
    if (k === 'SeqNo') m.seqNo = r.uint('ping.SeqNo', U32);
    else if (k === 'Node') m.node = r.string('ping.Node');
    else if (k === 'SourceAddr') m.sourceAddr = r.bytes('ping.SourceAddr');
    else if (k === 'SourcePort') m.sourcePort = r.uint('ping.SourcePort', U16);
    else if (k === 'SourceNode') m.sourceNode = r.string('ping.SourceNode');
    else return false;
    return true;
  });
  return m;
}

// ---- indirect ping -------------------------------------------------------------------------

export function writeIndirectPing(w: MsgpackWriter, m: IndirectPing): void {
  const src = hasSource(m);
  w.mapHeader(src ? 8 : 5);
  w.key('Nack').bool(m.nack);
  w.key('Node').str(m.node);
  w.key('Port').uint(m.port);
  w.key('SeqNo').uint(m.seqNo);
  if (src) writeSource(w, m);
  w.key('Target').bytes(m.target);
}

export function readIndirectPing(r: MsgpackReader): IndirectPing {
  const m: IndirectPing = { seqNo: 0, target: null, port: 0, node: '', nack: false };
  r.struct('indirectPingReq', (k) => {
    if (k === 'SeqNo') m.seqNo = r.uint('indirectPingReq.SeqNo', U32);
    else if (k === 'Target') m.target = r.bytes('indirectPingReq.Target');
    else if (k === 'Port') m.port = r.uint('indirectPingReq.Port', U16);
    else if (k === 'Node') m.node = r.string('indirectPingReq.Node');
    else if (k === 'Nack') m.nack = r.bool('indirectPingReq.Nack');
    else if (k === 'SourceAddr') m.sourceAddr = r.bytes('indirectPingReq.SourceAddr');
    else if (k === 'SourcePort') m.sourcePort = r.uint('indirectPingReq.SourcePort', U16);
    else if (k === 'SourceNode') m.sourceNode = r.string('indirectPingReq.SourceNode');
    else return false;
    return true;
  });
  return m;
}

// ---- ack / nack ----------------------------------------------------------------------------

export function writeAck(w: MsgpackWriter, m: Ack): void {
  w.mapHeader(2);
  w.key('Payload').bytes(m.payload);
  w.key('SeqNo').uint(m.seqNo);
}

export function readAck(r: MsgpackReader): Ack {
  const m: Ack = { seqNo: 0, payload: null };
  r.struct('ackResp', (k) => {
    if (k === 'SeqNo') m.seqNo = r.uint('ackResp.SeqNo', U32);
    else if (k === 'Payload') m.payload = r.bytes('ackResp.Payload');
    else return false;
    return true;
  });
  return m;
}

export function writeNack(w: MsgpackWriter, m: Nack): void {
  w.mapHeader(1);
  w.key('SeqNo').uint(m.seqNo);
}

export function readNack(r: MsgpackReader): Nack {
  const m: Nack = { seqNo: 0 };
  r.struct('nackResp', (k) => {
    if (k === 'SeqNo') m.seqNo = r.uint('nackResp.SeqNo', U32);
    else return false;
    return true;
  });
  return m;
}

// ---- suspect / dead (same shape) -----------------------------------------------------------

function writeAccusation(w: MsgpackWriter, m: Suspect | Dead): void {
  w.mapHeader(3);
  w.key('From').str(m.from);
  w.key('Incarnation').uint(m.incarnation);
  w.key('Node').str(m.node);
}

function readAccusation(r: MsgpackReader, what: string): Suspect {
  const m: Suspect = { incarnation: 0, node: '', from: '' };
  r.struct(what, (k) => {
    if (k === 'Incarnation') m.incarnation = r.uint(`${what}.Incarnation`, U32);
    else if (k === 'Node') m.node = r.string(`${what}.Node`);
    else if (k === 'From') m.from = r.string(`${what}.From`);
    else return false;
    return true;
  });
  return m;
}

export const writeSuspect = (w: MsgpackWriter, m: Suspect): void => writeAccusation(w, m);
export const readSuspect = (r: MsgpackReader): Suspect => readAccusation(r, 'suspect');
export const writeDead = (w: MsgpackWriter, m: Dead): void => writeAccusation(w, m);
export const readDead = (r: MsgpackReader): Dead => readAccusation(r, 'dead');

// ---- alive ---------------------------------------------------------------------------------

export function writeAlive(w: MsgpackWriter, m: Alive): void {
  w.mapHeader(6);
  w.key('Addr').bytes(m.addr);
  w.key('Incarnation').uint(m.incarnation);
  w.key('Meta').bytes(m.meta);
  w.key('Node').str(m.node);
  w.key('Port').uint(m.port);
  w.key('Vsn').bytes(m.vsn);
}

export function readAlive(r: MsgpackReader): Alive {
  const m: Alive = { incarnation: 0, node: '', addr: null, port: 0, meta: null, vsn: null };
  r.struct('alive', (k) => {
    if (k === 'Incarnation') m.incarnation = r.uint('alive.Incarnation', U32);
    else if (k === 'Node') m.node = r.string('alive.Node');
    else if (k === 'Addr') m.addr = r.bytes('alive.Addr');
    else if (k === 'Port') m.port = r.uint('alive.Port', U16);
    else if (k === 'Meta') m.meta = r.bytes('alive.Meta');
    else if (k === 'Vsn') m.vsn = r.bytes('alive.Vsn');
    else return false;
    return true;
  });
  return m;
}

// ---- push/pull -----------------------------------------------------------------------------

export function writePushPullHeader(w: MsgpackWriter, m: PushPullHeader): void {
  w.mapHeader(3);
  w.key('Join').bool(m.join);
  w.key('Nodes').uint(m.nodes);
  w.key('UserStateLen').uint(m.userStateLen);
}

export function readPushPullHeader(r: MsgpackReader): PushPullHeader {
  const m: PushPullHeader = { nodes: 0, userStateLen: 0, join: false };
  r.struct('pushPullHeader', (k) => {
    if (k === 'Nodes') m.nodes = r.uint('pushPullHeader.Nodes', GO_INT);
    else if (k === 'UserStateLen') m.userStateLen = r.uint('pushPullHeader.UserStateLen', GO_INT);
    else if (k === 'Join') m.join = r.bool('pushPullHeader.Join');
    else return false;
    return true;
  });
  return m;
}

export function writePushNodeState(w: MsgpackWriter, m: PushNodeState): void {
  w.mapHeader(7);
  w.key('Addr').bytes(m.addr);
  w.key('Incarnation').uint(m.incarnation);
  w.key('Meta').bytes(m.meta);
  w.key('Name').str(m.name);
  w.key('Port').uint(m.port);
  w.key('State').uint(m.state);
  w.key('Vsn').bytes(m.vsn);
}

export function readPushNodeState(r: MsgpackReader): PushNodeState {
  const m: PushNodeState = { name: '', addr: null, port: 0, meta: null, incarnation: 0, state: 0, vsn: null };
  r.struct('pushNodeState', (k) => {
    if (k === 'Name') m.name = r.string('pushNodeState.Name');
    else if (k === 'Addr') m.addr = r.bytes('pushNodeState.Addr');
    else if (k === 'Port') m.port = r.uint('pushNodeState.Port', U16);
    else if (k === 'Meta') m.meta = r.bytes('pushNodeState.Meta');
    else if (k === 'Incarnation') m.incarnation = r.uint('pushNodeState.Incarnation', U32);
    else if (k === 'State') m.state = r.uint('pushNodeState.State', GO_INT);
    else if (k === 'Vsn') m.vsn = r.bytes('pushNodeState.Vsn');
    else return false;
    return true;
  });
  return m;
}

// ---- compress / err / user -----------------------------------------------------------------

export function writeCompress(w: MsgpackWriter, m: Compress): void {
  w.mapHeader(2);
  w.key('Algo').uint(m.algo);
  w.key('Buf').bytes(m.buf);
}

export function readCompress(r: MsgpackReader): Compress {
  const m: Compress = { algo: 0, buf: null };
  r.struct('compress', (k) => {
    if (k === 'Algo') m.algo = r.uint('compress.Algo', U8);
    else if (k === 'Buf') m.buf = r.bytes('compress.Buf');
    else return false;
    return true;
  });
  return m;
}

export function writeErrResp(w: MsgpackWriter, m: ErrResp): void {
  w.mapHeader(1);
  w.key('Error').str(m.error);
}

export function readErrResp(r: MsgpackReader): ErrResp {
  const m: ErrResp = { error: '' };
  r.struct('errResp', (k) => {
    if (k === 'Error') m.error = r.string('errResp.Error');
    else return false;
    return true;
  });
  return m;
}

export function writeUserMsgHeader(w: MsgpackWriter, m: UserMsgHeader): void {
  w.mapHeader(1);
  w.key('UserMsgLen').uint(m.userMsgLen);
}

export function readUserMsgHeader(r: MsgpackReader): UserMsgHeader {
  const m: UserMsgHeader = { userMsgLen: 0 };
  r.struct('userMsgHeader', (k) => {
    if (k === 'UserMsgLen') m.userMsgLen = r.uint('userMsgHeader.UserMsgLen', GO_INT);
    else return false;
    return true;
  });
  return m;
}

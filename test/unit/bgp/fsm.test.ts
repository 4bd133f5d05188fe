// The BGP FSM alone (lib/bgp/fsm.ts): our OPEN, the checks of the peer's OPEN with the
// NOTIFICATION each failure sends, what gets negotiated, and the step for every message in
// every state. No sockets, no timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseIP } from '../../../lib/ip/index.js';
import type { BGPMessage, Capability, OpenMessage } from '../../../lib/bgp/codec.js';
import { ErrorCode, FSMSubcode, OpenSubcode } from '../../../lib/bgp/errors.js';
import { negotiate, openMessage, receive, validateOpen, type FSMConfig, type SessionState } from '../../../lib/bgp/fsm.js';

const CFG: FSMConfig = { myASN: 64512, peerASN: 64500, holdTimeSeconds: 90 };
const RID = mustParseIP('192.0.2.10');

function peerOpen(o: Partial<OpenMessage> = {}, caps?: Capability[]): OpenMessage {
  return {
    type: 'open', version: 4, myAS: 64500, holdTime: 30, bgpIdentifier: mustParseIP('192.0.2.1'),
    capabilities: caps ?? [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'four-octet-as', asn: 64500 }],
    ...o,
  };
}

test('our OPEN: both unicast families, route refresh, 4-octet AS; AS_TRANS when the ASN needs 4 octets', () => {
  const o = openMessage(CFG, RID);
  assert.equal(o.myAS, 64512);
  assert.equal(o.holdTime, 90);
  assert.ok(o.bgpIdentifier.equals(RID));
  assert.deepEqual(o.capabilities.map((c) => c.kind), ['multiprotocol', 'multiprotocol', 'route-refresh', 'four-octet-as']);
  assert.equal(openMessage({ ...CFG, myASN: 4_200_000_000 }, RID).myAS, 23456);
});

test('peer OPEN checks: each unacceptable OPEN gives its OPEN-message subcode', () => {
  const cases: [string, OpenMessage, FSMConfig, number][] = [
    ['version 3', peerOpen({ version: 3 }), CFG, OpenSubcode.UnsupportedVersionNumber],
    ['wrong AS', peerOpen({}, [{ kind: 'four-octet-as', asn: 64999 }]), CFG, OpenSubcode.BadPeerAS],
    ['wrong 2-octet AS', peerOpen({ myAS: 64999 }, []), CFG, OpenSubcode.BadPeerAS],
    ['hold time 2', peerOpen({ holdTime: 2 }), CFG, OpenSubcode.UnacceptableHoldTime],
    ['identifier 0', peerOpen({ bgpIdentifier: mustParseIP('0.0.0.0') }), CFG, OpenSubcode.BadBGPIdentifier],
    ['iBGP, same identifier as ours', peerOpen({ bgpIdentifier: RID }), { ...CFG, myASN: 64500 }, OpenSubcode.BadBGPIdentifier],
    ['4-octet ASN, peer without the capability', peerOpen({}, [{ kind: 'multiprotocol', afi: 1, safi: 1 }]), { ...CFG, myASN: 4_200_000_000 }, OpenSubcode.UnsupportedCapability],
  ];
  for (const [name, open, cfg, subcode] of cases) {
    const err = validateOpen(open, cfg, RID);
    assert.ok(err, name);
    assert.equal(err.code, ErrorCode.OpenMessage, name);
    assert.equal(err.subcode, subcode, name);
  }
  assert.equal(validateOpen(peerOpen(), CFG, RID), undefined);
  assert.equal(validateOpen(peerOpen({ bgpIdentifier: RID }), CFG, RID), undefined, 'eBGP may share our identifier');
  assert.equal(validateOpen(peerOpen({ holdTime: 0 }), CFG, RID), undefined);
});

test('negotiation: the smaller hold time, the unicast families offered, IPv4 only without multiprotocol', () => {
  const n = negotiate(peerOpen(), CFG);
  assert.equal(n.holdTimeSeconds, 30);
  assert.deepEqual([...n.families].sort(), [4, 6]);
  assert.equal(n.fourOctetAS, true);
  const legacy = negotiate(peerOpen({ holdTime: 180 }, []), CFG);
  assert.deepEqual([...legacy.families], [4]);
  assert.equal(legacy.holdTimeSeconds, 90);
  assert.equal(legacy.fourOctetAS, false);
  assert.deepEqual([...negotiate(peerOpen({}, [{ kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'multiprotocol', afi: 1, safi: 128 }]), CFG).families], [6]);
});

const KA: BGPMessage = { type: 'keepalive' };
const UPDATE: BGPMessage = { type: 'update', withdrawn: [], attributes: [], nlri: [] };
const NOTE: BGPMessage = { type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) };
const RR = (afi: number): BGPMessage => ({ type: 'route-refresh', afi, subtype: 0, safi: 1 });

test('steps: OPEN then KEEPALIVE establish; anything else out of turn is an FSM error with the state\'s subcode', () => {
  const none = new Set<4 | 6>();
  const step = (state: SessionState, msg: BGPMessage, families: ReadonlySet<4 | 6> = none) => receive(state, msg, CFG, RID, families);
  const oc = step('open-sent', peerOpen());
  assert.equal(oc.action, 'open-confirm');
  assert.equal(step('open-confirm', KA).action, 'establish');
  const expectFsm = (state: SessionState, msg: BGPMessage, subcode: number): void => {
    const s = step(state, msg);
    assert.equal(s.action, 'drop', `${msg.type} in ${state}`);
    if (s.action === 'drop') assert.deepEqual([s.notify.code, s.notify.subcode], [ErrorCode.FiniteStateMachine, subcode]);
  };
  expectFsm('open-sent', KA, FSMSubcode.UnexpectedMessageInOpenSent);
  expectFsm('open-sent', UPDATE, FSMSubcode.UnexpectedMessageInOpenSent);
  expectFsm('open-confirm', UPDATE, FSMSubcode.UnexpectedMessageInOpenConfirm);
  expectFsm('open-confirm', peerOpen(), FSMSubcode.UnexpectedMessageInOpenConfirm);
  expectFsm('established', peerOpen(), FSMSubcode.UnexpectedMessageInEstablished);
  const refused = step('open-sent', peerOpen({ version: 3 }));
  assert.ok(refused.action === 'drop' && refused.refusedOpen && refused.notify.code === ErrorCode.OpenMessage);
  for (const state of ['open-sent', 'open-confirm', 'established'] as const) {
    const n = step(state, NOTE);
    assert.equal(n.action, 'notified', state);
    if (n.action === 'notified') assert.match(n.reason, /Cease/);
  }
});

test('steps when established: UPDATEs and KEEPALIVEs change nothing; ROUTE-REFRESH only for a negotiated family', () => {
  const v4 = new Set<4 | 6>([4]);
  assert.equal(receive('established', UPDATE, CFG, RID, v4).action, 'none');
  assert.equal(receive('established', KA, CFG, RID, v4).action, 'none');
  assert.deepEqual(receive('established', RR(1), CFG, RID, v4), { action: 'refresh', family: 4 });
  assert.equal(receive('established', RR(2), CFG, RID, v4).action, 'none', 'IPv6 was not negotiated');
  assert.equal(receive('established', { type: 'route-refresh', afi: 1, subtype: 1, safi: 1 }, CFG, RID, v4).action, 'none', 'BoRR/EoRR markers');
});

// BGP NOTIFICATION error codes and subcodes (RFC 4271 §4.5 and §6, RFC 4486, RFC 5492, RFC 6608,
// RFC 7313, RFC 8203, RFC 9234), with their names, and the typed error every decoder throws.

export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FiniteStateMachine: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const HeaderSubcode = { ConnectionNotSynchronized: 1, BadMessageLength: 2, BadMessageType: 3 } as const;

export const OpenSubcode = {
  UnsupportedVersionNumber: 1,
  BadPeerAS: 2,
  BadBGPIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedASPath: 11,
} as const;

export const FSMSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

export const CeaseSubcode = {
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BFDDown: 10,
} as const;

export const RouteRefreshSubcode = { InvalidMessageLength: 1 } as const;

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure (deprecated)',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    11: 'Role Mismatch',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop (deprecated)',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    0: 'Unspecified Error',
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

/** Human-readable name of a NOTIFICATION code. */
export function errorCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Unknown Error Code ${code}`;
}

/** Human-readable name of a NOTIFICATION subcode (within its code). */
export function errorSubcodeName(code: number, subcode: number): string {
  if (subcode === 0) return 'Unspecific';
  return SUBCODE_NAMES[code]?.[subcode] ?? `Unknown Subcode ${subcode}`;
}

/**
 * A malformed or unacceptable BGP message. `code`/`subcode`/`data` are what the NOTIFICATION sent
 * back to the peer carries; `offset` is the byte offset in the message where the problem is.
 */
export class BGPMessageError extends Error {
  override readonly name = 'BGPMessageError';
  constructor(
    readonly code: number,
    readonly subcode: number,
    readonly offset: number,
    readonly detail: string,
    readonly data: Buffer = Buffer.alloc(0),
    /**
     * True for an error inside the path attributes of an UPDATE whose framing is intact: RFC 7606
     * lets the receiver treat the routes as withdrawn instead of resetting the session.
     */
    readonly treatAsWithdraw = false,
  ) {
    super(`${errorCodeName(code)} / ${errorSubcodeName(code, subcode)} at offset ${offset}: ${detail}`);
  }

  /** The same error with other NOTIFICATION data. */
  withData(data: Buffer): BGPMessageError {
    return new BGPMessageError(this.code, this.subcode, this.offset, this.detail, data, this.treatAsWithdraw);
  }

  /** The same error, marked as one RFC 7606 handles by treat-as-withdraw. */
  asTreatAsWithdraw(): BGPMessageError {
    return new BGPMessageError(this.code, this.subcode, this.offset, this.detail, this.data, true);
  }
}

// lib/bgp: BGP-4 for the speaker. Codec (codec.ts), NOTIFICATION codes and the typed decode error
// (errors.ts), routes and UPDATE packing (advertisement.ts), one session per peer (session.ts)
// built from the FSM (fsm.ts), the socket (connection.ts) and the paced RIB diff (rib.ts),
// TCP MD5 sockets through the native addon (tcp-md5.ts).
export {
  AFI,
  AS_TRANS,
  AttributeType,
  CapabilityCode,
  MessageType,
  SAFI,
  MAX_MESSAGE_LENGTH,
  MessageFramer,
  decodeMessage,
  encodeMessage,
  capabilitiesOf,
  type BGPMessage,
  type Capability,
  type CodecContext,
  type OpenMessage,
  type UpdateMessage,
  type NotificationMessage,
  type RouteRefreshMessage,
  type KeepaliveMessage,
  type PathAttribute,
  type ASPathSegment,
} from './codec.js';
export { BGPMessageError, ErrorCode, HeaderSubcode, OpenSubcode, UpdateSubcode, FSMSubcode, CeaseSubcode, RouteRefreshSubcode, errorCodeName, errorSubcodeName } from './errors.js';
export {
  mergeRoutes,
  routesForAddress,
  normaliseCommunities,
  prefixKey,
  packAnnouncements,
  packWithdrawals,
  endOfRIB,
  type Route,
  type Advertisements,
  type UpdateContext,
} from './advertisement.js';
export {
  BGPSession,
  sessionOptionsFromPeer,
  deriveRouterID,
  reconnectDelay,
  peerLabel,
  type SessionOptions,
  type SessionState,
  type SessionStats,
  type SessionEvents,
  type EstablishedInfo,
} from './session.js';
export { createMd5Socket, MAX_MD5_KEY_BYTES } from './tcp-md5.js';

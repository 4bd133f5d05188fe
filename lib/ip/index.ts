export { IPAddress, parseIP, mustParseIP, isBuggyIP, familyBits, type Family } from './address.js';
export { CIDR, parseCIDR, mustParseCIDR, rangeToCIDRs, totalSize, type ParsedCIDR } from './cidr.js';
export { parsePoolEntry, type PoolEntry, type PoolEntryResult } from './range.js';

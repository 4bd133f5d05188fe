// Ethernet (EUI-48) hardware addresses.

export class MacAddress {
  private constructor(private readonly octets: Buffer) {}

  static readonly BROADCAST = new MacAddress(Buffer.alloc(6, 0xff));
  static readonly ZERO = new MacAddress(Buffer.alloc(6, 0));

  /** Copies 6 bytes from `bytes` at `offset`. */
  static fromBytes(bytes: Uint8Array, offset = 0): MacAddress {
    if (bytes.length - offset < 6) throw new RangeError(`a MAC address has 6 bytes, got ${Math.max(0, bytes.length - offset)}`);
    return new MacAddress(Buffer.from(bytes.subarray(offset, offset + 6)));
  }

  /** Parses "02:00:00:00:00:11" (also with '-' separators); undefined when malformed. */
  static parse(text: string): MacAddress | undefined {
    const m = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/.exec(text.trim());
    if (!m) return undefined;
    return new MacAddress(Buffer.from([m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h, 16))));
  }

  static mustParse(text: string): MacAddress {
    const mac = MacAddress.parse(text);
    if (!mac) throw new RangeError(`"${text}" is not a MAC address`);
    return mac;
  }

  /** A copy of the 6 bytes. */
  toBytes(): Buffer {
    return Buffer.from(this.octets);
  }

  /** Writes the 6 bytes into `target` at `offset`. */
  writeTo(target: Buffer, offset: number): void {
    this.octets.copy(target, offset);
  }

  /** True when the 6 bytes of `bytes` at `offset` are this address. */
  matches(bytes: Uint8Array, offset: number): boolean {
    for (let i = 0; i < 6; i++) if (bytes[offset + i] !== this.octets[i]) return false;
    return true;
  }

  equals(other: MacAddress): boolean {
    return this.octets.equals(other.octets);
  }

  get isBroadcast(): boolean {
    return this.matches(MacAddress.BROADCAST.octets, 0);
  }

  toString(): string {
    return [...this.octets].map((b) => b.toString(16).padStart(2, '0')).join(':');
  }
}

// Config texts of docs/behaviour/config.md#examples, shared by tests and benches that build a Config from text.

/** docs/behaviour/config.md#examples example X1: a complete valid config (one BGP peer, a bgp pool and a layer2 pool). */
export const SPEC_X1 = `
peers:
- peer-address: 192.0.2.1
  peer-asn: 64500
  my-asn: 64500
  hold-time: 30s
bgp-communities:
  noexport: 65535:65281
address-pools:
- name: edge
  protocol: bgp
  avoid-buggy-ips: yes
  addresses: [198.51.100.0/24]
  bgp-advertisements:
  - localpref: 200
    communities: [noexport]
- name: lan
  protocol: layer2
  auto-assign: false
  addresses: ["192.0.2.100 - 192.0.2.120", "2001:db8:1::/124"]
`;

// lib/allocator: which address(es) a LoadBalancer Service gets, exactly as MetalLB v0.12 decides
// (docs/behaviour/allocation.md), with a constant cost per operation at any pool size. Pure logic: no Kubernetes
// client, no clock, no I/O. Deterministic: the same history of calls gives the same answers.
//
// PUBLIC API (stable; the controller builds on it)
//
//   serviceRequest(svc: ServiceLike): AllocationRequest                        (docs/behaviour/allocation.md#state)
//     Derives what the allocator needs from a Service (a structural type: plain objects and
//     @kubernetes/client-node V1Service both fit). Problems the user made are values, never throws:
//       request.family        {ok:true, family:'ipv4'|'ipv6'|'dual'} | {ok:false, message}
//       request.requestedIPs  {ok:true, ips: IPAddress[]} (empty = none asked) | {ok:false, message}
//       request.ports         [{protocol:'TCP'|'UDP'|'SCTP'|…, port}]  (as written; absent → TCP)
//       request.sharingKey    annotation metallb.universe.tf/allow-shared-ip ('' = no sharing)
//       request.backendKey    externalTrafficPolicy Local: selector as sorted k=v joined by ','; else ''
//       request.requestedPool annotation metallb.universe.tf/address-pool ('' = none)
//
//   familyOfAddresses(ips: readonly IPAddress[]): FamilyResult
//     1 address → its family, 2 of different families → 'dual', else an error (for status IPs, docs/behaviour/allocation.md#reconcile step 5).
//   sameAddressSet(a, b): boolean       set equality of address lists (for docs/behaviour/allocation.md#reconcile step 6c).
//   formatIPList(ips): string           Go's %q rendering of an IP list: ["1.2.3.4" "2001:db8::1"].
//   poolCapacity(pool: AddressPool): bigint   the metric metallb_allocator_addresses_total (docs/behaviour/allocation.md#capacity).
//
//   class Allocator
//     setConfig(config: Config): ConfigVerdict
//        {ok:true, removedPools: string[]} — adopted: every allocation re-attributed to the pool
//          that now contains all its IPs (renames and splits are fine). removedPools: names whose
//          metrics the caller should delete.
//        {ok:false, message, conflicts} — refused as a whole, old config stays in force (docs/behaviour/allocation.md#config-changes, docs/behaviour/controller.md#stale-config):
//          message `new config not compatible with assigned IPs: service "ns/a" cannot own ["…"]
//          under new config`; conflicts lists every stranded allocation, sorted by service key (the
//          first is the one named in the message; upstream named a random one).
//     allocate(key, request): AllocationResult                                  (docs/behaviour/allocation.md#choosing, docs/behaviour/allocation.md#dual-stack)
//        Upstream's allocateIPs: requested IPs → assign exactly those (auto-assign:false pools fine,
//        pool annotation ignored); else pool annotation → that pool only; else every auto-assign
//        pool in CONFIG ORDER (upstream: random map order), first that fits wins. A key that
//        already holds an allocation re-asserts it with the request's ports/keys instead.
//        → {ok:true, ips, pool, changed} | {ok:false, failure}
//     assign(key, request, ips): AllocationResult       re-assert current IPs or place explicit ones:
//        family must match, 1–2 IPs of different families, all in ONE pool (avoid-buggy-ips
//        included), each passing the sharing rules of docs/behaviour/allocation.md#sharing (incl. the only-user exception).
//        On failure nothing changes (the key keeps what it had).
//     release(key): boolean                  frees the key's IPs (an address is freed with its last user).
//     ipsOf(key): readonly IPAddress[] | undefined    in status order (docs/behaviour/allocation.md#dual-stack).
//     poolOf(key): string | undefined
//     has(key): boolean
//     usage(): PoolUsage[]      per pool of the current config, config order:
//        {pool, addressesInUse (distinct addresses, metric metallb_allocator_addresses_in_use_total),
//         addressesTotal (bigint, docs/behaviour/allocation.md#capacity), services}
//     poolUsage(name): PoolUsage | undefined
//     keys(): IterableIterator<string>   allocated service keys.
//
//   AllocationFailure (typed; `message` carries upstream's wording for events):
//     kind 'invalid-request'   the request itself is bad (family or requested-IP parse error)
//          'family-mismatch'   requested IPs' family ≠ the Service's
//          'invalid-ips'       0 or >2 IPs, or two of one family
//          'not-allowed'       IPs not (all) in one pool, or avoid-buggy-ips forbids one
//          'sharing'           docs/behaviour/allocation.md#sharing key checks failed on `ip` (reason: existing-no-sharing |
//                              new-no-sharing | sharing-key-mismatch | backend-key-mismatch;
//                              otherServices: who holds it)
//          'port-in-use'       docs/behaviour/allocation.md#sharing port check failed on `ip`
//          'unknown-pool'      pool annotation names no pool
//          'no-available-ips'  exhausted (pool named when one pool was asked/tried alone)
//          'no-config'         no config has been set yet
//
// HOW THE CONTROLLER'S RECONCILE (docs/behaviour/allocation.md#reconcile) MAPS ONTO IT
//   deleted / not LoadBalancer / no clusterIPs      → release(key)
//   step 5  current = status IPs; familyOfAddresses(current) vs request.family → release on mismatch
//   step 6a assign(key, request, current)            → failure: release(key), clear the status
//   step 6b request.requestedPool !== '' && poolOf(key) !== request.requestedPool → release
//   step 6c !request.requestedIPs.ok → LoadBalancerFailed event, keep what 6a left;
//           requested IPs given && !sameAddressSet(requested, current) → release
//   step 7  allocate(key, request) → failure.message into AllocationFailed, else IPAllocated
//   config  setConfig(config): ok → delete metrics of removedPools, reprocess every Service;
//           refused → keep the old config, config_stale=1, retry later (docs/behaviour/controller.md#stale-config)
//   metrics usage() after each change.
//
// COST: no operation iterates over an address space. Per pool and family the allocator keeps a
// high-water mark plus a min-heap of released offsets (lowest free = min of both); per sharing key
// an ordered index of the in-use addresses carrying it; and per request class (ipv4/ipv6/dual) a
// heap of the auto-assign pools that still have room. So "the first address in walk order this
// Service may use" costs O(log n) in the number of allocations, the same for a /64 as for a /28,
// and the same with 1,000 pools as with one. avoid-buggy-ips is arithmetic on the candidate, not a
// scan. A sharing Service additionally steps over in-use addresses of its own sharing key whose
// ports clash with its own (bounded by the Services sharing that key, not by the pool size).
// setConfig is O(allocations) (every allocation is checked, as upstream does); pool spaces whose
// CIDR list is kept or only extended at the end are carried over as they are.

export {
  serviceRequest,
  familyOfAddresses,
  sameAddressSet,
  formatIPList,
  ANNOTATION_ADDRESS_POOL,
  ANNOTATION_ALLOW_SHARED_IP,
  ANNOTATION_LOADBALANCER_IPS,
  type ServiceLike,
  type ServicePortLike,
  type ServicePort,
  type IPFamily,
  type FamilyResult,
  type RequestedIPsResult,
  type AllocationRequest,
} from './request.js';
export {
  Allocator,
  type ConfigVerdict,
  type StrandedAllocation,
  type AllocationResult,
  type AllocationFailure,
  type SharingRefusalReason,
  type PoolUsage,
} from './allocator.js';
export { poolCapacity } from './capacity.js';

#!/usr/bin/env bash
# Upstream MetalLB, the oracle of test/interop/upstream and the benchmarks' reference:
#   - v0.12.1's speaker and controller, built once from the Go module proxy into
#     ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/upstream-v0.12.1/bin (about 3 minutes on 2 cores
#     when cold; instant when cached), see scripts/upstream-binaries.sh;
#   - the go.universe.tf/metallb v0.13.5 module in the Go module cache (its configmaptocrs golden
#     files are read at test time by test/interop/upstream/migrate-oracle.test.ts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$("$here/upstream-binaries.sh")"
echo "[60-upstream] upstream MetalLB binaries in $dir" >&2
mig="${METALLB_TS_UPSTREAM_MIGRATE_VERSION:-v0.13.5}"
(cd / && GOFLAGS=-mod=mod go mod download "go.universe.tf/metallb@$mig") >&2
echo "[60-upstream] go.universe.tf/metallb@$mig in the Go module cache" >&2

#!/usr/bin/env bash
# Reference programs of the benchmarks (bench/*.ts) that no test needs, so scripts/setup.sh
# builds nothing here (CI time): a bench builds what it needs on first use by running
#
#   scripts/setup.d/70-bench-refs.sh allocbench       upstream v0.12.1's allocator driven by
#                                                     bench/upstream/allocator/main.go
#   scripts/setup.d/70-bench-refs.sh configmaptocrs   upstream v0.13.12's ConfigMap-to-CRs tool
#
# which prints the binary's path on stdout (progress on stderr). Built with this machine's Go
# toolchain from the Go module proxy into ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/bench-refs/.
# No upstream source enters the repository: a wrapper module is generated in the cache; its path
# lies under go.universe.tf/metallb/ so Go lets the driver import upstream's internal packages, and
# it carries upstream's own `replace` block and go.sum (a dependency's replace directives do not
# apply to the main module). A binary is reused while the stamp (version + driver source hash)
# matches; concurrent runs serialise on a lock. Other references: upstream's speaker and
# controller come from scripts/upstream-binaries.sh, GoBGP's gobgpd and ExaBGP from Debian
# (scripts/apt-packages.txt).
set -euo pipefail
log() { printf '[70-bench-refs] %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${METALLB_TS_CACHE:-/var/cache/metallb-ts}/bench-refs"
MODULE=go.universe.tf/metallb

if [ $# -eq 0 ]; then
  log "benchmark references are built on first use by npm run bench (nothing to do in setup)"
  exit 0
fi

# build_ref <name> <upstream version> <package to build> [driver source file]
build_ref() {
  local name=$1 version=$2 pkg=$3 driver=${4:-}
  local out="$CACHE/$name" bin="$CACHE/$name/$name" want
  want="$version $pkg"
  [ -n "$driver" ] && want="$want $(sha256sum "$driver" | cut -d' ' -f1)"
  if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ]; then echo "$bin"; return 0; fi
  command -v go >/dev/null || { log "Go toolchain not found (needed to build $name)"; return 1; }
  mkdir -p "$out"
  exec 9>"$out/.lock"
  flock 9
  if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ]; then echo "$bin"; return 0; fi
  local t0 dir src="$out/src"
  t0=$(date +%s)
  log "building $name from $MODULE@$version (first use; under a minute with a warm Go cache)"
  dir=$(go mod download -json "$MODULE@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -f "$dir/go.mod" ] || { log "could not download $MODULE@$version"; return 1; }
  rm -rf "$src" && mkdir -p "$src"
  {
    echo "module $MODULE/benchrefs"
    echo
    grep -m1 '^go ' "$dir/go.mod"
    echo
    echo "require $MODULE $version"
    echo
    sed -n '/^replace[[:space:]]*(/,/^)/p; /^replace[[:space:]][^(]/p' "$dir/go.mod"
  } > "$src/go.mod"
  cp "$dir/go.sum" "$src/go.sum"
  chmod u+w "$src/go.sum"
  local target=$pkg
  if [ -n "$driver" ]; then
    cp "$driver" "$src/main.go"
    target=.
  else
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$src/tools.go"
  fi
  (cd "$src" && GOFLAGS=-mod=mod go mod tidy -e >&2 || true)
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -buildvcs=false -o "$bin.tmp" "$target" >&2)
  mv "$bin.tmp" "$bin"
  echo "$want" > "$out/stamp"
  log "built $bin in $(( $(date +%s) - t0 )) s"
  echo "$bin"
}

for ref in "$@"; do
  case "$ref" in
    allocbench) build_ref allocbench v0.12.1 "$MODULE/internal/allocator" "$ROOT/bench/upstream/allocator/main.go" ;;
    configmaptocrs) build_ref configmaptocrs v0.13.12 "$MODULE/configmaptocrs" ;;
    *) log "unknown reference $ref (allocbench, configmaptocrs)"; exit 2 ;;
  esac
done

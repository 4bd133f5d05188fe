#!/usr/bin/env bash
# Upstream MetalLB's speaker and controller, the reference the interop tests (test/interop/upstream)
# and the benchmarks compare against.
#
#   scripts/upstream-binaries.sh       print the directory holding `speaker` and `controller`
#
# Built once from the Go module proxy (go.universe.tf/metallb, default v0.12.1) with this
# machine's Go toolchain into
#   ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/upstream-<version>/bin/{speaker,controller}
# Nothing of upstream's source lives in this repository: a wrapper module is generated in
# <cache>/upstream-<version>/src at build time; it requires go.universe.tf/metallb at the version
# and carries upstream's own `replace` block and go.sum (read from the downloaded module, since a
# dependency's replace directives do not apply to the main module), so both commands are built
# unchanged against exactly the dependency versions upstream released with.
# A binary is reused only if its embedded build info names the expected module version, so the
# script is idempotent and repairs a stale or half-finished cache. Build durations are recorded in
# <cache>/upstream-<version>/build-times.json. Progress goes to stderr; only the directory goes
# to stdout. Concurrent runs serialise on a lock.
set -euo pipefail

VERSION="${METALLB_TS_UPSTREAM_VERSION:-v0.12.1}"
MODULE=go.universe.tf/metallb
log() { printf '[upstream-binaries] %s\n' "$*" >&2; }

CACHE="${METALLB_TS_CACHE:-/var/cache/metallb-ts}"
OUT="$CACHE/upstream-$VERSION"
BIN="$OUT/bin"
SRC="$OUT/src"
TIMES="$OUT/build-times.json"

# `go version -m` prints the main package's module path and version embedded at build time
bin_ok() { # name
  [ -x "$BIN/$1" ] || return 1
  command -v go >/dev/null || return 0   # cannot check without Go; trust the stamp below
  go version -m "$BIN/$1" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+$MODULE[[:space:]]+$VERSION([[:space:]]|\$)" \
    || go version -m "$BIN/$1" 2>/dev/null | grep -Eq "^[[:space:]]+dep[[:space:]]+$MODULE[[:space:]]+$VERSION([[:space:]]|\$)"
}
all_ok() { bin_ok speaker && bin_ok controller; }

if all_ok; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { log "Go toolchain not found (needed to build upstream MetalLB $VERSION)"; exit 1; }

mkdir -p "$BIN" "$SRC"
exec 9>"$OUT/.lock"
if ! flock -n 9; then
  log "another run is building into $OUT; waiting for it"
  flock 9
fi
if all_ok; then echo "$BIN"; exit 0; fi

record() { # name seconds
  local prev='{}'
  [ -f "$TIMES" ] && prev=$(cat "$TIMES")
  node -e 'const [p,k,v]=process.argv.slice(1);const o=JSON.parse(p);o[k]=Number(v);process.stdout.write(JSON.stringify(o)+"\n")' "$prev" "$1" "$2" > "$TIMES.tmp" 2>/dev/null \
    && mv "$TIMES.tmp" "$TIMES" || rm -f "$TIMES.tmp"
}

start=$(date +%s)
cd "$SRC"
if [ ! -f go.mod ] || ! grep -q "^require $MODULE $VERSION\$" go.mod || [ ! -f go.sum ]; then
  t0=$(date +%s)
  log "fetching $MODULE@$VERSION"
  dir=$(go mod download -json "$MODULE@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -f "$dir/go.mod" ] || { log "could not download $MODULE@$VERSION"; exit 1; }
  {
    echo "module metallb-ts/upstream-binaries"
    echo
    grep -m1 '^go ' "$dir/go.mod"
    echo
    echo "require $MODULE $VERSION"
    echo
    # upstream's own replace block, verbatim
    sed -n '/^replace[[:space:]]*(/,/^)/p; /^replace[[:space:]][^(]/p' "$dir/go.mod"
  } > go.mod.tmp
  mv go.mod.tmp go.mod
  cp "$dir/go.sum" go.sum
  chmod u+w go.sum
  cat > tools.go <<GO
//go:build tools

package tools

import (
	_ "$MODULE/controller"
	_ "$MODULE/speaker"
)
GO
  log "resolving the module graph"
  GOFLAGS=-mod=mod go mod tidy -e >&2 || true
  record modules_s $(( $(date +%s) - t0 ))
fi

build() { # name
  log "building upstream $1 $VERSION (a few minutes on 2 cores when the Go build cache is cold)"
  local t0
  t0=$(date +%s)
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w" -o "$BIN/$1.tmp" "$MODULE/$1" >&2
  mv "$BIN/$1.tmp" "$BIN/$1"
  log "built $1 in $(( $(date +%s) - t0 )) s"
  record "$1_s" $(( $(date +%s) - t0 ))
}
bin_ok controller || build controller
bin_ok speaker || build speaker
all_ok || { log "binaries in $BIN do not report $MODULE $VERSION"; exit 1; }
log "upstream $VERSION ready in $BIN after $(( $(date +%s) - start )) s"
echo "$BIN"

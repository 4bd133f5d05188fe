#!/usr/bin/env bash
# Builds the hashicorp/memberlist v0.1.7 test peer (test/interop/memberlist/peer) with this
# machine's Go toolchain, fetching modules through the Go module proxy, into
#   ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/memberlist-peer/mlpeer
# Rebuilds only when main.go, go.mod or go.sum changed. Progress goes to stderr.
set -euo pipefail
log() { printf '[30-memberlist] %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/test/interop/memberlist/peer"
OUT="${METALLB_TS_CACHE:-/var/cache/metallb-ts}/memberlist-peer"
BIN="$OUT/mlpeer"
STAMP="$OUT/source.sha256"

command -v go >/dev/null || { log "Go toolchain not found (needed to build the memberlist test peer)"; exit 1; }
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
want=$(cat "$SRC/main.go" "$SRC/go.mod" "$SRC/go.sum" | sha256sum | cut -d' ' -f1)
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  log "memberlist peer up to date: $BIN"
  exit 0
fi
log "building memberlist v0.1.7 peer into $BIN"
(cd "$SRC" && go build -mod=mod -buildvcs=false -o "$BIN.tmp" .)
mv "$BIN.tmp" "$BIN"
echo "$want" > "$STAMP"
log "built $BIN"

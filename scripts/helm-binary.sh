#!/usr/bin/env bash
# Obtain the helm binary used by the chart tests (charts/metallb-ts, test/integration/helm).
#
#   scripts/helm-binary.sh            print the path of the helm binary
#
# Helm is built once from its Go module (helm.sh/helm/v4 at HELM_VERSION, through the Go module
# proxy, with the module's own go.sum-pinned dependencies) with this machine's Go toolchain, into
#   ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/helm-<version>/helm
# stamped with its release version the way Helm's Makefile does, so `helm version` reports it.
# A cached binary is reused only if it reports the expected version (idempotent; a stale or
# half-written cache is rebuilt). The build duration is recorded in <dir>/build-times.json.
# Progress goes to stderr; only the path goes to stdout. Concurrent runs serialise on a lock.
set -euo pipefail

HELM_VERSION="${METALLB_TS_HELM_VERSION:-v4.3.2}"
log() { printf '[helm-binary] %s\n' "$*" >&2; }

CACHE="${METALLB_TS_CACHE:-/var/cache/metallb-ts}"
OUT="$CACHE/helm-$HELM_VERSION"
BIN="$OUT/helm"
helm_ok() { [ -x "$BIN" ] && "$BIN" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; }
if helm_ok; then echo "$BIN"; exit 0; fi

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
if ! flock -n 9; then
  log "another run is building helm into $OUT; waiting for it"
  flock 9
fi
if helm_ok; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { log "Go toolchain not found (needed to build helm $HELM_VERSION)"; exit 1; }

log "building helm $HELM_VERSION from helm.sh/helm/v4 (a few minutes on 2 cores when the Go caches are cold)"
t0=$(date +%s)
tmp="$OUT/gobin.tmp"
rm -rf "$tmp"; mkdir -p "$tmp"
# `go install pkg@version` builds with the module's own go.mod/go.sum, outside any workspace.
(cd "$OUT" && CGO_ENABLED=0 GOFLAGS= GOWORK=off GOBIN="$tmp" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION") >&2
mv "$tmp/helm" "$BIN"
rm -rf "$tmp"
secs=$(( $(date +%s) - t0 ))
printf '{"helm_version":"%s","build_s":%d,"go":"%s"}\n' "$HELM_VERSION" "$secs" "$(go env GOVERSION)" > "$OUT/build-times.json"
helm_ok || { log "built $BIN but it does not report $HELM_VERSION: $("$BIN" version 2>&1 || true)"; exit 1; }
log "built helm $HELM_VERSION in $secs s"
echo "$BIN"

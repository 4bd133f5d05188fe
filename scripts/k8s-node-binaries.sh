#!/usr/bin/env bash
# kubelet, kube-proxy, kube-scheduler and kube-controller-manager for the real-cluster harness
# (test/support/cluster), built from k8s.io/kubernetes at the same version, with the same wrapper
# module and version ldflags as scripts/k8s-binaries.sh, into the same cache directory:
#
#   scripts/k8s-node-binaries.sh       print the directory holding all the Kubernetes binaries
#
# Runs scripts/k8s-binaries.sh first (etcd, kube-apiserver, kubectl; it also prepares the wrapper
# module), then builds the four node/control components in ONE `go build` (they share most of
# their packages, so one invocation compiles each package once). Cached binaries are reused when
# they report the expected version. Serialises with k8s-binaries.sh on the same lock.
# Progress goes to stderr; only the directory goes to stdout.
set -euo pipefail

K8S_VERSION="${METALLB_TS_K8S_VERSION:-v1.33.13}"
log() { printf '[k8s-node-binaries] %s\n' "$*" >&2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COMPONENTS=(kubelet kube-proxy kube-scheduler kube-controller-manager)

BIN="$("$here/k8s-binaries.sh")"
OUT="$(dirname "$BIN")"
if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ "$BIN" = "$KUBEBUILDER_ASSETS" ]; then
  # envtest assets lack the node components: build those into the cache
  OUT="${METALLB_TS_CACHE:-/var/cache/metallb-ts}/k8s-$K8S_VERSION"
  BIN="$OUT/bin"
fi

ok() { [ -x "$BIN/$1" ] && "$BIN/$1" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"; }
all_ok() { for c in "${COMPONENTS[@]}"; do ok "$c" || return 1; done; }
if all_ok; then echo "$BIN"; exit 0; fi

mkdir -p "$BIN" "$OUT/src"
exec 9>"$OUT/.lock"
if ! flock -n 9; then
  log "another run is building into $OUT; waiting for it"
  flock 9
fi
if all_ok; then echo "$BIN"; exit 0; fi
[ -f "$OUT/src/go.mod" ] || { log "wrapper module missing in $OUT/src (scripts/k8s-binaries.sh prepares it)"; exit 1; }

MINOR="${K8S_VERSION#v1.}"; MINOR="${MINOR%%.*}"
cd "$OUT/src"
info=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Info": "\(.*\)".*/\1/p')
build_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)
[ -n "$build_date" ] || build_date=1970-01-01T00:00:00Z
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

pkgs=()
for c in "${COMPONENTS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
tmp="$BIN/.node-build.tmp"
rm -rf "$tmp"; mkdir -p "$tmp"
log "building ${COMPONENTS[*]} in one go build (about 6 min with a warm Go cache, 11 cold, on 2 cores)"
t0=$(date +%s)
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="$ldflags" -o "$tmp/" "${pkgs[@]}" >&2
for c in "${COMPONENTS[@]}"; do mv "$tmp/$c" "$BIN/$c"; done
rm -rf "$tmp"
secs=$(( $(date +%s) - t0 ))
TIMES="$OUT/build-times.json"
prev='{}'; [ -f "$TIMES" ] && prev=$(cat "$TIMES")
node -e 'const [p,v]=process.argv.slice(1);const o=JSON.parse(p);o.node_components_s=Number(v);process.stdout.write(JSON.stringify(o)+"\n")' "$prev" "$secs" > "$TIMES.tmp" && mv "$TIMES.tmp" "$TIMES" || rm -f "$TIMES.tmp"
all_ok || { log "built binaries do not report Kubernetes $K8S_VERSION"; exit 1; }
log "built ${COMPONENTS[*]} in $secs s"
echo "$BIN"

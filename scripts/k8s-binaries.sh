#!/usr/bin/env bash
# Obtain etcd, kube-apiserver and kubectl for the local control plane (envtest convention).
#
#   scripts/k8s-binaries.sh            print the directory holding the three binaries
#
# If KUBEBUILDER_ASSETS names a directory with etcd, kube-apiserver and kubectl, it is used as is.
# Otherwise the binaries are built once, from the published Go modules, with this machine's Go
# toolchain, into a cache directory that later runs (and CI on the same machine) reuse:
#   ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/k8s-<version>/bin
# kube-apiserver comes from k8s.io/kubernetes (a small wrapper module requires it and pins every
# staging module k8s.io/kubernetes replaces locally to its published v0.x tag), stamped with its
# release version the way Kubernetes' own build does (-X .../version.gitVersion etc.), so clients
# see "v1.33.13" and not "v0.0.0-master"; etcd from go.etcd.io/etcd/server/v3 at the version
# Kubernetes itself requires (so the pair is one upstream tests together). kubectl: the machine's
# own kubectl of the same minor release when the image has one (google-cloud-cli ships
# kubectl.1.NN next to its version dispatcher), else the machine's kubectl when it is within the
# supported skew (+-1 minor), else built from the same module.
# A binary in the cache is reused only if it reports the expected version, so the script is
# idempotent and repairs a stale or half-finished cache. Build durations are recorded in
# <cache>/k8s-<version>/build-times.json (read by bench/controlplane.ts).
# Progress goes to stderr; only the directory goes to stdout. Concurrent runs serialise on a lock.
set -euo pipefail

K8S_VERSION="${METALLB_TS_K8S_VERSION:-v1.33.13}"
log() { printf '[k8s-binaries] %s\n' "$*" >&2; }

MINOR="${K8S_VERSION#v1.}"; MINOR="${MINOR%%.*}"      # v1.33.13 -> 33

have_all() { [ -x "$1/etcd" ] && [ -x "$1/kube-apiserver" ] && [ -x "$1/kubectl" ]; }
apiserver_ok() { [ -x "$1/kube-apiserver" ] && [ "$("$1/kube-apiserver" --version 2>/dev/null)" = "Kubernetes $K8S_VERSION" ]; }
etcd_ok() { [ -x "$1/etcd" ] && "$1/etcd" --version >/dev/null 2>&1; }
kubectl_ok() { [ -x "$1/kubectl" ] && "$1/kubectl" version --client >/dev/null 2>&1; }
all_ok() { apiserver_ok "$1" && etcd_ok "$1" && kubectl_ok "$1" && kubectl_preferred "$1"; }
# false when the cache links a kubectl other than the machine's same-minor one while that exists
kubectl_preferred() {
  local sysk same
  sysk=$(command -v kubectl || true)
  [ -n "$sysk" ] || return 0
  same="$(dirname "$(readlink -f "$sysk")")/kubectl.1.$MINOR"
  [ -x "$same" ] || return 0
  [ ! -L "$1/kubectl" ] || [ "$(readlink -f "$1/kubectl")" = "$same" ]
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if have_all "$KUBEBUILDER_ASSETS"; then echo "$KUBEBUILDER_ASSETS"; exit 0; fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks etcd, kube-apiserver or kubectl; using the cache instead"
fi

CACHE="${METALLB_TS_CACHE:-/var/cache/metallb-ts}"
OUT="$CACHE/k8s-$K8S_VERSION"
BIN="$OUT/bin"
if all_ok "$BIN"; then echo "$BIN"; exit 0; fi

mkdir -p "$BIN" "$OUT/src"
exec 9>"$OUT/.lock"
if ! flock -n 9; then
  log "another run is building into $OUT; waiting for it"
  flock 9
fi
if all_ok "$BIN"; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { log "Go toolchain not found (needed to build kube-apiserver and etcd); install Go or set KUBEBUILDER_ASSETS"; exit 1; }

STAGING="v0${K8S_VERSION#v1}"   # v1.33.13 -> v0.33.13
SRC="$OUT/src"
TIMES="$OUT/build-times.json"
cd "$SRC"
start=$(date +%s)
record() { # name seconds
  local prev='{}'
  [ -f "$TIMES" ] && prev=$(cat "$TIMES")
  node -e 'const [p,k,v]=process.argv.slice(1);const o=JSON.parse(p);o[k]=Number(v);process.stdout.write(JSON.stringify(o)+"\n")' "$prev" "$1" "$2" > "$TIMES.tmp" 2>/dev/null \
    && mv "$TIMES.tmp" "$TIMES" || rm -f "$TIMES.tmp"
}

if [ ! -f go.mod ] || ! grep -q "k8s.io/kubernetes $K8S_VERSION" go.mod; then
  t0=$(date +%s)
  log "fetching k8s.io/kubernetes@$K8S_VERSION module metadata"
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || { log "could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  goline=$(grep -m1 '^go ' "$gomod")
  {
    echo "module metallb-ts/k8s-binaries"
    echo
    echo "$goline"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # every staging module k8s.io/kubernetes replaces with ./staging/... gets the matching published tag
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod" | sort -u | while read -r m; do
      echo "	$m => $m $STAGING"
    done
    echo ")"
  } > go.mod.tmp
  mv go.mod.tmp go.mod
  rm -f go.sum
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  log "resolving module graph (downloads a few hundred MB once)"
  GOFLAGS=-mod=mod go get "k8s.io/kubernetes@$K8S_VERSION" >&2
  GOFLAGS=-mod=mod go mod tidy -e >&2 || true
  record modules_s $(( $(date +%s) - t0 ))
fi

# version stamping, as Kubernetes' hack/lib/version.sh does for release builds
info=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Info": "\(.*\)".*/\1/p')
build_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)
[ -n "$build_date" ] || build_date=1970-01-01T00:00:00Z
VERSION_LDFLAGS=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  VERSION_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
  VERSION_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

build() { # name package extra-ldflags
  log "building $1 (the slow part: several minutes on 2 cores when the Go build cache is cold)"
  local t0
  t0=$(date +%s)
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="-s -w $3" -o "$BIN/$1.tmp" "$2" >&2
  mv "$BIN/$1.tmp" "$BIN/$1"
  log "built $1 in $(( $(date +%s) - t0 )) s"
  record "$1_s" $(( $(date +%s) - t0 ))
}
apiserver_ok "$BIN" || build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$VERSION_LDFLAGS"
etcd_ok "$BIN" || build etcd go.etcd.io/etcd/server/v3 ""
apiserver_ok "$BIN" || { log "kube-apiserver reports '$("$BIN/kube-apiserver" --version)', expected Kubernetes $K8S_VERSION"; exit 1; }

# the machine's kubectl of the same minor release, if the image has one (see the header)
same_minor_kubectl() {
  local sysk
  sysk=$(command -v kubectl || true)
  [ -n "$sysk" ] || return 1
  local same
  same="$(dirname "$(readlink -f "$sysk")")/kubectl.1.$MINOR"
  [ -x "$same" ] && "$same" version --client >/dev/null 2>&1 && echo "$same"
}
same=$(same_minor_kubectl || true)
if [ -n "$same" ] && [ "$(readlink -f "$BIN/kubectl" 2>/dev/null)" != "$same" ]; then
  ln -sfn "$same" "$BIN/kubectl"; log "using the machine's kubectl 1.$MINOR ($same)"
fi
if ! kubectl_ok "$BIN"; then
  rm -f "$BIN/kubectl"
  sysk=$(command -v kubectl || true)
  if [ -n "$sysk" ] && "$sysk" version --client -o json 2>/dev/null | grep -Eq "\"minor\": *\"($((MINOR-1))|$MINOR|$((MINOR+1)))"; then
    ln -sf "$sysk" "$BIN/kubectl"; log "using the machine's kubectl ($sysk, within the supported skew)"
  else
    build kubectl k8s.io/kubernetes/cmd/kubectl "$VERSION_LDFLAGS"
  fi
fi
all_ok "$BIN" || { log "binaries in $BIN do not work"; exit 1; }
log "binaries ready in $BIN after $(( $(date +%s) - start )) s"
echo "$BIN"

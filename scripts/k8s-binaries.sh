#!/usr/bin/env bash
# Obtain etcd, kube-apiserver and kubectl for the local control plane (envtest convention).
#
#   scripts/k8s-binaries.sh            print the directory holding the three binaries
#
# If KUBEBUILDER_ASSETS names a directory with etcd, kube-apiserver and kubectl, it is used as is.
# Otherwise the binaries are built once, from the published Go modules, with this machine's Go
# toolchain, into a cache directory that later runs (and CI on the same machine) reuse:
#   ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/k8s-<version>/bin
# kube-apiserver comes from k8s.io/kubernetes; etcd from go.etcd.io/etcd/server/v3 at the version
# Kubernetes itself requires (so the pair is one that upstream tests together); kubectl is the
# machine's own when it is within the supported skew, else built from the same module.
# Progress goes to stderr; only the directory goes to stdout.
set -euo pipefail

K8S_VERSION="${METALLB_TS_K8S_VERSION:-v1.33.13}"
log() { printf '[k8s-binaries] %s\n' "$*" >&2; }

have_all() { [ -x "$1/etcd" ] && [ -x "$1/kube-apiserver" ] && [ -x "$1/kubectl" ]; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if have_all "$KUBEBUILDER_ASSETS"; then echo "$KUBEBUILDER_ASSETS"; exit 0; fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks etcd, kube-apiserver or kubectl; building into the cache instead"
fi

CACHE="${METALLB_TS_CACHE:-/var/cache/metallb-ts}"
OUT="$CACHE/k8s-$K8S_VERSION"
BIN="$OUT/bin"
if have_all "$BIN"; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { log "Go toolchain not found (needed to build kube-apiserver and etcd)"; exit 1; }
mkdir -p "$BIN" "$OUT/src"
exec 9>"$OUT/.lock"
flock 9
if have_all "$BIN"; then echo "$BIN"; exit 0; fi

STAGING="v0${K8S_VERSION#v1}"   # v1.33.13 -> v0.33.13
SRC="$OUT/src"
cd "$SRC"
start=$(date +%s)
if [ ! -f go.mod ]; then
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
  } > go.mod
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
fi

build() { # name package
  if [ -x "$BIN/$1" ]; then return; fi
  log "building $1 (this is the slow part: several minutes on 2 cores)"
  local t0=$(date +%s)
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$BIN/$1.tmp" "$2" >&2
  mv "$BIN/$1.tmp" "$BIN/$1"
  log "built $1 in $(( $(date +%s) - t0 )) s"
}
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build etcd go.etcd.io/etcd/server/v3

if [ ! -x "$BIN/kubectl" ]; then
  sysk=$(command -v kubectl || true)
  if [ -n "$sysk" ] && "$sysk" version --client -o json 2>/dev/null | grep -Eq '"minor": *"3[2-4]'; then
    ln -sf "$sysk" "$BIN/kubectl"; log "using the machine's kubectl ($sysk)"
  else
    build kubectl k8s.io/kubernetes/cmd/kubectl
  fi
fi
log "binaries ready in $BIN after $(( $(date +%s) - start )) s"
echo "$BIN"

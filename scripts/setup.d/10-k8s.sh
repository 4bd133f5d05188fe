#!/usr/bin/env bash
# etcd, kube-apiserver and kubectl for the local control plane (test/support/sandbox/controlplane.ts), built
# once from Go modules into ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/k8s-<version>/bin (about 10
# minutes on 2 cores when cold; instant when cached). Honours KUBEBUILDER_ASSETS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$("$here/k8s-binaries.sh")"
echo "[10-k8s] control-plane binaries in $dir" >&2

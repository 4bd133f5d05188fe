#!/usr/bin/env bash
# Helm (helm.sh/helm/v4, built from the Go module proxy) for the chart tests; see
# scripts/helm-binary.sh. About 3-4 minutes on 2 cores when the Go caches are cold; instant when cached.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$("$here/helm-binary.sh")"
echo "[50-helm] helm in $bin" >&2
# upstream MetalLB v0.12.1's module (its chart's values files are inputs of test/integration/helm)
if command -v go >/dev/null; then
  tmp=$(mktemp -d)
  (cd "$tmp" && GOFLAGS= GOWORK=off go mod download go.universe.tf/metallb@v0.12.1) >&2
  rm -rf "$tmp"
fi

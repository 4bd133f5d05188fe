#!/usr/bin/env bash
# One-time, idempotent set-up of this machine for the test suite and the demo (Debian, as root):
#   1. the Debian packages listed in scripts/apt-packages.txt (FRR, arping, ndisc6, ...);
#   2. the Node.js LTS runtime (scripts/node-runtime.sh: the official build from the npm registry,
#      into the cache; METALLB_TS_NODE=/path/to/node uses your own instead);
#   3. npm dependencies, the native addon and the TypeScript build (`npm ci`, run on that runtime);
#   4. every fragment in scripts/setup.d/ in name order: Kubernetes binaries (etcd,
#      kube-apiserver) and Go test peers, built once into ${METALLB_TS_CACHE:-/var/cache/metallb-ts}.
# A cold run takes about 12 minutes (mostly building kube-apiserver on 2 cores); a warm one seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf '[setup] %s\n' "$*" >&2; }
t0=$(date +%s)

if [ "$(id -u)" != 0 ]; then
  log "must run as root (Debian packages, network namespaces for the tests)"; exit 1
fi
command -v npm >/dev/null || { log "npm is required (it fetches the Node.js LTS runtime and the dependencies)"; exit 1; }

mapfile -t pkgs < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt | awk '{print $1}' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  log "Debian packages present (${#pkgs[@]})"
fi

# FRR's packaged service must not hold port 179 or the vty sockets our tests use.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet frr 2>/dev/null; then systemctl stop frr || true; fi

nodedir=$(scripts/node-runtime.sh)
export PATH="$nodedir/bin:$PATH"   # npm, node-gyp, tsc and the setup fragments run on it
log "Node.js $(node --version) from $nodedir"

lockhash=$( (cat package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ ! -f node_modules/.metallb-ts-lock ] || [ "$(cat node_modules/.metallb-ts-lock)" != "$lockhash" ] || [ ! -f native/build/Release/metallb_native.node ]; then
  log "npm ci (dependencies, native addon, TypeScript build)"
  npm ci --no-audit --no-fund >&2
  echo "$lockhash" > node_modules/.metallb-ts-lock
else
  log "npm dependencies up to date; building"
  npm run --silent build >&2
fi

for f in scripts/setup.d/*.sh; do
  [ -e "$f" ] || continue
  log "running $(basename "$f")"
  bash "$f"
done
log "done in $(( $(date +%s) - t0 )) s"

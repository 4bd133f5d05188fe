#!/usr/bin/env bash
# The Node.js runtime this project builds, tests and runs with: an official Node.js LTS build.
#
#   scripts/node-runtime.sh            print the runtime's prefix (it holds bin/node and
#                                      include/node), installing it into the cache when missing
#   scripts/node-runtime.sh --check    print the prefix if it is installed, else exit 1
#
# A user's own Node.js: set METALLB_TS_NODE=/path/to/bin/node (any build of a supported line,
# see package.json "engines"); its prefix is used as is. Otherwise the official build of
# NODE_VERSION is taken from the npm registry package node-linux-<arch> (the official
# bin/node and include/node headers, integrity checked by npm against the registry) and unpacked
# into ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/node-v<version>. Progress goes to stderr.
set -euo pipefail
NODE_VERSION="${METALLB_TS_NODE_VERSION:-24.22.3}"
log() { printf '[node-runtime] %s\n' "$*" >&2; }

if [ -n "${METALLB_TS_NODE:-}" ]; then
  [ -x "$METALLB_TS_NODE" ] || { log "METALLB_TS_NODE=$METALLB_TS_NODE is not an executable"; exit 1; }
  dirname "$(dirname "$(readlink -f "$METALLB_TS_NODE")")"
  exit 0
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) log "no official Node.js package for $(uname -m)"; exit 1 ;;
esac
CACHE="${METALLB_TS_CACHE:-/var/cache/metallb-ts}"
DIR="$CACHE/node-v$NODE_VERSION"
ok() { [ -x "$DIR/bin/node" ] && [ "$("$DIR/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ] && [ -f "$DIR/include/node/node_api.h" ]; }
if ok; then echo "$DIR"; exit 0; fi
[ "${1:-}" = "--check" ] && exit 1

command -v npm >/dev/null || { log "npm is needed once to fetch node-linux-$arch@$NODE_VERSION from the npm registry"; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.node-v$NODE_VERSION.lock"
flock 9
if ok; then echo "$DIR"; exit 0; fi
tmp=$(mktemp -d "$CACHE/.node-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "fetching node-linux-$arch@$NODE_VERSION (official Node.js build) from the npm registry"
( cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null )
tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$tmp"
chmod 0755 "$tmp/package/bin/node"
rm -rf "$DIR"
mv "$tmp/package" "$DIR"
ok || { log "the unpacked runtime in $DIR does not report v$NODE_VERSION"; exit 1; }
log "Node.js $("$DIR/bin/node" --version) in $DIR"
echo "$DIR"

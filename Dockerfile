# syntax=docker/dockerfile:1
# Container images of the controller and the speaker, from one multi-stage file with two targets:
#   docker build --target controller -t <registry>/metallb-ts/controller:0.1.0 .
#   docker build --target speaker    -t <registry>/metallb-ts/speaker:0.1.0 .
# The manifests refer to registry.invalid/metallb-ts/{controller,speaker}:0.1.0, a placeholder:
# push to your registry and rename the images (e.g. with `images:` in a kustomize overlay).
# The test suite builds exactly this file with buildah (scripts/cluster-images.sh) and runs the
# images in a real cluster (test/cluster); where no registry is reachable, that script makes local
# base images of the same names and roles.

ARG NODE_MAJOR=24

# --- build: compile TypeScript and the N-API addon, then drop dev dependencies -------------------
FROM node:${NODE_MAJOR}-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's install script builds the addon with Debian's header path
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.base.json ./
COPY bin ./bin
COPY lib ./lib
COPY schema ./schema
COPY native ./native
RUN npx tsc -p tsconfig.json \
 && cd native \
 && node /usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir=/usr/local \
 && cd .. \
 && npm prune --omit=dev --ignore-scripts \
 && mkdir -p /out/native/build/Release \
 && cp -r dist package.json node_modules schema /out/ \
 && cp native/build/Release/metallb_native.node /out/native/build/Release/

# --- controller: no privileges at all, runs as an unprivileged user -----------------------------
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot AS controller
WORKDIR /app
COPY --from=build /out/ /app/
USER 65534:65534
EXPOSE 7472
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/bin/controller.js"]

# --- speaker: runs as root with only NET_RAW (granted by the DaemonSet's securityContext), on the
# host network: it answers ARP/NDP through AF_PACKET sockets and keeps BGP and memberlist sessions
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12 AS speaker
WORKDIR /app
COPY --from=build /out/ /app/
EXPOSE 7472 7946/tcp 7946/udp
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/bin/speaker.js"]

#!/usr/bin/env bash
# The real-cluster tier (test/cluster), the demo and bench/cluster.ts: kubelet, kube-proxy,
# kube-scheduler and kube-controller-manager at the kube-apiserver's version
# (scripts/k8s-node-binaries.sh, about 5 min with a warm Go cache, 11 cold), and the container
# images: the project's from ./Dockerfile plus pause and backend (scripts/cluster-images.sh: about
# 4 min cold incl. the local base images, 1.5 min after a source change, seconds when valid).
# Debian packages (containerd, runc, CNI plugins, buildah, mmdebstrap, iptables, conntrack) come
# from scripts/apt-packages.txt. Everything is cached under ${METALLB_TS_CACHE:-/var/cache/metallb-ts}.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
t0=$(date +%s)
bin="$("$here/k8s-node-binaries.sh")"
echo "[40-cluster] node components in $bin ($(( $(date +%s) - t0 )) s)" >&2
t1=$(date +%s)
imgs="$("$here/cluster-images.sh")"
echo "[40-cluster] images in $imgs ($(( $(date +%s) - t1 )) s)" >&2

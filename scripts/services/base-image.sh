#!/usr/bin/env bash
# Builds the local python base image (no registry is reachable): debootstrap a minimal Debian
# with python3 and `docker import` it. Cached: does nothing when the image exists.
set -euo pipefail
IMAGE="${TWINFLOW_BASE_IMAGE:-twinflow/python-base:bookworm}"
SUITE="${TWINFLOW_BASE_SUITE:-bookworm}"
MIRROR="${TWINFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/twinflow-studio"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE: present"
  exit 0
fi
mkdir -p "$CACHE"
tarball="$CACHE/python-base-$SUITE.tar"
if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || {
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  echo "base image: debootstrap $SUITE with python3 (about a minute)"
  debootstrap --variant=minbase --include=python3,python3-minimal "$SUITE" "$rootfs" "$MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  # Trim what a task never needs: apt lists, docs, locales.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc \
    "$rootfs"/usr/share/man "$rootfs"/usr/share/locale
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
docker import --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$IMAGE" >/dev/null
echo "base image $IMAGE: built"

#!/usr/bin/env bash
# Builds the real-Debian tier's image into OUT (a new, empty directory): a Debian 12 base rootfs
# as a zstd tarball, a local apt repository with the packages the shipped containers install
# that the base lacks, and a pip find-links directory with a stub `vllm` wheel.
#
#   build_image.sh OUT MIRROR BASE_PACKAGES EXTRA_PACKAGES
#
# MIRROR is the Debian archive to bootstrap from (the caller reads it from the host's apt
# sources); BASE_PACKAGES and EXTRA_PACKAGES are comma-separated. Needs root, debootstrap,
# apt-ftparchive (apt-utils) and zstd. The caller keys the cache by this file's content, so any
# change here makes a new image.
#
# What the base holds is what a Proxmox debian-12-standard template roughly holds (systemd,
# python3, curl, locales, ca-certificates), and nothing the executables are meant to install:
# no locale is generated, and none of 900's other tools nor python3-venv/pip are present.

set -euo pipefail

OUT=$1 MIRROR=$2 BASE_PACKAGES=$3 EXTRA_PACKAGES=$4
ROOTFS=$OUT/rootfs
SUITE=bookworm

log() { printf '[build_image] %s\n' "$*" >&2; }

log "debootstrap $SUITE (minbase + $BASE_PACKAGES)"
debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" \
  >"$OUT/debootstrap.log" 2>&1 || {
  tail -n 20 "$OUT/debootstrap.log" >&2
  exit 1
}

# apt inside a chroot of the fresh rootfs resolves exactly what the base lacks.
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
mkdir -p "$ROOTFS/srv/download/partial"
log "downloading what the base lacks of: $EXTRA_PACKAGES"
chroot "$ROOTFS" apt-get update -qq
# shellcheck disable=SC2086 # the package list is split on purpose
chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --download-only \
  --no-install-recommends -o Dir::Cache::archives=/srv/download ${EXTRA_PACKAGES//,/ } >/dev/null

mkdir -p "$OUT/repo"
mv "$ROOTFS"/srv/download/*.deb "$OUT/repo/"
(
  cd "$OUT/repo"
  apt-ftparchive packages . >Packages
  # Written outside the directory, or it would list itself.
  apt-ftparchive release . >"$OUT/Release"
  mv "$OUT/Release" Release
)

log "building the stub vllm wheel"
mkdir -p "$ROOTFS/srv/wheel-build" "$OUT/wheels"
cp "$(dirname "$0")/vllm_stub_wheel.py" "$ROOTFS/srv/wheel-build/"
chroot "$ROOTFS" python3 /srv/wheel-build/vllm_stub_wheel.py /srv/wheel-build
mv "$ROOTFS"/srv/wheel-build/*.whl "$OUT/wheels/"

log "configuring the base for offline use"
rm -rf "$ROOTFS/srv/download" "$ROOTFS/srv/wheel-build" "$ROOTFS/etc/resolv.conf"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin
rm -f "$ROOTFS"/etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:/srv/repo ./' >"$ROOTFS/etc/apt/sources.list"
echo 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/99offline"
printf '[global]\nno-index = true\nfind-links = /srv/wheels\n' >"$ROOTFS/etc/pip.conf"
# debootstrap copied the host's name; localhost must resolve for the probes.
echo debian >"$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$ROOTFS/etc/hosts"
# A container has no console to log in on.
chroot "$ROOTFS" systemctl mask -q console-getty.service getty@tty1.service 2>/dev/null || true

log "packing the rootfs"
tar --numeric-owner --xattrs --xattrs-include='*' -I 'zstd -T0 -3' -C "$ROOTFS" \
  -cf "$OUT/rootfs.tar.zst" .
rm -rf "$ROOTFS" "$OUT/debootstrap.log"
(cd "$OUT" && find rootfs.tar.zst repo wheels -type f -print0 | sort -z | xargs -0 sha256sum) \
  >"$OUT/SHA256SUMS"
log "done"

#!/usr/bin/env bash
# Imports a tiny local image for the container runtime tests: a root filesystem holding busybox-static
# and a link for each of its applets (sh, httpd, nc, sleep, …). No registry is reachable from CI, so
# the image is built from the Debian busybox-static binary and `podman import`ed. Idempotent: does
# nothing when the image exists. Usage: scripts/podman-test-image.sh [image] (default below).
set -euo pipefail

image="${1:-localhost/gpumesh-busybox:test}"
if podman image exists "$image"; then exit 0; fi

busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
  echo "podman-test-image: busybox-static is missing (apt-get install busybox-static)" >&2
  exit 1
fi
# Must be the static build: the image has no libc.
if ldd "$busybox" >/dev/null 2>&1; then
  echo "podman-test-image: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/tmp" "$work/root/etc"
cp "$busybox" "$work/root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$work/root/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" >"$work/root/etc/passwd"
echo "root:x:0:" >"$work/root/etc/group"
tar -C "$work/root" -cf "$work/image.tar" .
podman import --quiet --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$work/image.tar" "$image" >/dev/null
echo "podman-test-image: imported $image"

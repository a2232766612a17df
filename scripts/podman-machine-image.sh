#!/usr/bin/env bash
# Imports a local image standing in for gpumesh/machine (apps/agent/images/machine) in the container
# runtime tests: busybox-static for the shell and tools, Debian's OpenSSH server and ssh-keygen with
# the libraries they link, and the machine image's own entrypoint. No registry is reachable from CI,
# so nothing is pulled: sshd comes from `apt-get download` (unpacked, never installed, so no SSH
# service starts on this host). Idempotent. Usage: scripts/podman-machine-image.sh [image].
set -euo pipefail

image="${1:-localhost/gpumesh-machine:test}"
if podman image exists "$image"; then exit 0; fi
here="$(cd "$(dirname "$0")/.." && pwd)"

busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "podman-machine-image: needs busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi
keygen="$(command -v ssh-keygen || true)"
[ -n "$keygen" ] || { echo "podman-machine-image: needs ssh-keygen (apt-get install openssh-client)" >&2; exit 1; }

work="$(mktemp -d)"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
download() { (cd "$work" && apt-get download -q openssh-server libwrap0 >/dev/null 2>&1); }
# A fresh machine may have no package lists yet: refresh them once (as root) and try again.
download || { [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && download; } || { echo "podman-machine-image: apt-get download openssh-server libwrap0 failed" >&2; exit 1; }
mkdir -p "$work/debs"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/debs"; done

root="$work/root"
mkdir -p "$root/bin" "$root/usr/sbin" "$root/usr/bin" "$root/usr/local/bin" "$root/tmp" "$root/etc/ssh" "$root/root" "$root/run"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cp "$work/debs/usr/sbin/sshd" "$root/usr/sbin/sshd"
cp "$keygen" "$root/usr/bin/ssh-keygen"
# Every library the two binaries link, at the path the loader looks for it (libwrap from its package).
libs="$work/debs/lib/x86_64-linux-gnu:$work/debs/usr/lib/x86_64-linux-gnu"
for binary in "$root/usr/sbin/sshd" "$root/usr/bin/ssh-keygen"; do
  LD_LIBRARY_PATH="$libs" ldd "$binary" | awk '/=> \//{print $1, $3} /^\s*\/lib/{print $1, $1}' | while read -r name resolved; do
    case "$resolved" in
      "$work"/debs/*) target="/lib/x86_64-linux-gnu/$name" ;;
      *) target="$resolved" ;;
    esac
    mkdir -p "$root$(dirname "$target")"
    cp -L "$resolved" "$root$target"
  done
done
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || { mkdir -p "$root/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"; }
cp "$here/apps/agent/images/machine/entrypoint.sh" "$root/usr/local/bin/gpumesh-machine"
chmod 755 "$root/usr/local/bin/gpumesh-machine"
printf 'root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
: >"$root/etc/ssh/sshd_config"
chmod 700 "$root/root"
tar -C "$root" -cf "$work/image.tar" .
podman import --quiet --change 'CMD ["/usr/local/bin/gpumesh-machine"]' --change 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/bin' "$work/image.tar" "$image" >/dev/null
echo "podman-machine-image: imported $image"

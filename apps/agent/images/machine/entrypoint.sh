#!/bin/sh
# A bare-metal lease's machine (the Docker runtime's --machine-image): lets in the renter's SSH key as
# root and nothing else, then runs the SSH server in the foreground, so the container lives as long as
# it does. POSIX sh (busybox's too): the same script runs in the test image built by
# scripts/podman-machine-image.sh.
set -eu

if [ -z "${SSH_PUBLIC_KEY:-}" ]; then
  echo "gpumesh-machine: SSH_PUBLIC_KEY is not set: nobody could log in" >&2
  exit 64
fi

umask 077
mkdir -p /root/.ssh /run/sshd /etc/ssh
printf '%s\n' "$SSH_PUBLIC_KEY" >/root/.ssh/authorized_keys
# The lease's environment (the renter's variables, GPUMESH_*, CUDA's) for the login shells too: sshd
# starts them with a clean one. One line per variable; a value with a newline cannot be carried.
env | grep -v -E '^(HOME|HOSTNAME|PWD|SHLVL|TERM|SSH_PUBLIC_KEY|_)=' | grep -E '^[A-Za-z_][A-Za-z0-9_]*=' >/root/.ssh/environment || true
chmod 700 /root/.ssh
chmod 600 /root/.ssh/authorized_keys /root/.ssh/environment

# Host keys are made fresh for every lease (never baked into the image, where every machine would share them).
ssh-keygen -A >/dev/null
for key in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -f "$key"; done | sed 's/^/gpumesh-machine: host key /'

echo "gpumesh-machine: sshd on port 22 (root, public key only)"
exec /usr/sbin/sshd -D -e \
  -o Port=22 \
  -o PermitRootLogin=prohibit-password \
  -o PubkeyAuthentication=yes \
  -o PasswordAuthentication=no \
  -o KbdInteractiveAuthentication=no \
  -o UsePAM=no \
  -o PermitUserEnvironment=yes \
  -o AuthorizedKeysFile=.ssh/authorized_keys

#!/usr/bin/env bash
# Debian packages the test suite starts or calls for real (nothing is mocked):
# PostgreSQL, ipmi_sim, dnsmasq (config check), QEMU + iPXE, the tools that
# build the deploy ramdisk and the bootable test image, and Chromium for the
# web console's tests; FRR, BIRD, lldpd and sshd for the network lab.
set -euo pipefail

PKGS=(
  postgresql                              # the production database, started by the tests
  openipmi ipmitool                       # ipmi_sim, the IPMI BMC simulator
  dnsmasq-base                            # `dnsmasq --test` on the rendered config (no service)
  qemu-system-x86 ipxe-qemu socat         # QEMU hosts that PXE boot from Ingot
  ovmf ipxe                               # UEFI QEMU hosts (OVMF) and iPXE's EFI/BIOS boot files
  e2fsprogs iproute2                      # debugfs reads the VMs' disks; network namespaces (DHCP test)
  busybox-static cpio kmod xz-utils       # the deploy ramdisk
  syslinux syslinux-common mtools dosfstools  # the bootable test OS image
  chromium                                # the web console's browser tests (Playwright drives it)
  frr bird2 lldpd iputils-ping            # the network lab (tests/network): router, BGP host, LLDP, ping
  openssh-server                          # the lab's switch and router are driven over SSH
  ca-certificates
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# `apt-get download` (the ramdisk build fetches the kernel that way) needs the
# package lists even when every package is already installed.
lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' 2>/dev/null | head -1)
if [ ${#missing[@]} -gt 0 ] || [ -z "$lists" ]; then
  echo "system-deps: apt-get update" >&2
  $SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}" >&2
  # no services are wanted from these packages; tests start what they need
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
echo "system-deps: ok" >&2

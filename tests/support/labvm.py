"""A small virtual machine for the network lab, when this host's kernel cannot
hold it (no VLAN-filtering bridge, no bonding, no 802.1Q: some CI kernels).

QEMU (TCG, no KVM needed) boots Debian's kernel -- the same one the deploy
ramdisk uses, fetched once by :func:`api.boot.ramdisk.build.fetch_kernel` --
with a busybox initramfs that mounts *this host's* root filesystem read-only
over 9p and starts sshd: inside, the VM runs this machine's own ``ip``,
``bridge``, FRR, BIRD and lldpd. A second 9p share (read-write) is the test's
work directory, ``/run/lab`` inside. The VM dies with the test process.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import paramiko

from api.boot.ramdisk.build import build_initramfs, fetch_busybox, fetch_kernel
from tests.support.ports import free_port
from tests.support.procfs import cpu_seconds

MODULES = ("virtio_pci", "virtio_net", "9p", "9pnet_virtio", "bridge", "8021q", "bonding", "veth")
INSIDE = "/run/lab"   # the work directory inside the VM

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /etc/ingot/modules); do insmod /lib/modules/$(cat /etc/ingot/kernel-version)/$m; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 root /newroot || echo LABVM-NO-ROOT
mount -t tmpfs tmpfs /newroot/run; mount -t tmpfs tmpfs /newroot/tmp
mkdir -p /newroot/run/lab
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 lab /newroot/run/lab || echo LABVM-NO-LAB
exec chroot /newroot /bin/sh /run/lab/vm-init.sh
"""

VM_INIT = """#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mkdir -p /run/sshd /run/frr /run/lldpd /run/netns
mount -t tmpfs tmpfs /root  # an empty home: no shell profile of the host speaks in SSH sessions
ip link set lo up
for d in /sys/class/net/*; do [ -e "$d/device" ] && dev=$(basename "$d") && break; done
ip link set "$dev" up && ip addr add 10.0.2.15/24 dev "$dev" && ip route add default via 10.0.2.2
/usr/sbin/sshd -f /run/lab/sshd_config -E /run/lab/sshd.log && echo LABVM-READY
while true; do sleep 3600; done
"""

SSHD_CONFIG = """Port 22
ListenAddress 0.0.0.0
HostKey {inside}/ssh_host_ed25519_key
AuthorizedKeysFile {inside}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile /run/sshd.pid
MaxSessions 200
MaxStartups 200:30:400
"""


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class LabVM:
    """One running VM; :meth:`ssh` gives a paramiko client logged in as root."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.key: paramiko.Ed25519Key | None = None
        self.host_key = ""

    def _files(self) -> None:
        w = self.workdir
        w.mkdir(parents=True, exist_ok=True)
        for name in ("ssh_host_ed25519_key", "client_key"):
            if not (w / name).exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(w / name)], check=True)
        (w / "authorized_keys").write_text((w / "client_key.pub").read_text())
        (w / "sshd_config").write_text(SSHD_CONFIG.format(inside=INSIDE))
        (w / "vm-init.sh").write_text(VM_INIT)
        self.key = paramiko.Ed25519Key.from_private_key_file(str(w / "client_key"))
        self.host_key = " ".join((w / "ssh_host_ed25519_key.pub").read_text().split()[:2])

    def start(self, timeout: float = 300.0) -> "LabVM":
        self._files()
        kernel = fetch_kernel()
        initrd = self.workdir / "initrd.gz"
        build_initramfs(initrd, kernel=kernel, busybox=fetch_busybox(), files=[("init", INIT.encode(), 0o755)],
                        modules=MODULES)
        self.port = free_port()
        cmd = [shutil.which("qemu-system-x86_64") or "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max",
               "-smp", "2", "-m", "1024", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
               "-serial", f"file:{self.workdir / 'console.log'}",
               "-kernel", str(kernel.vmlinuz), "-initrd", str(initrd),
               # loglevel=5: the kernel's warnings too (a stall, a NIC's transmit timeout) reach console.log,
               # which a failure report quotes
               "-append", "console=ttyS0 panic=-1 loglevel=5 no_timer_check",
               "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:22",
               "-device", "virtio-net-pci,netdev=n0,romfile=",
               "-virtfs", "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap",
               "-virtfs", f"local,path={self.workdir},mount_tag=lab,security_model=none,multidevs=remap"]
        log = open(self.workdir / "qemu.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        if self.answers(within=timeout):
            return self
        if self.proc.poll() is not None:
            raise RuntimeError(f"the lab VM exited: {self.console()}")
        self.stop()
        raise RuntimeError(f"the lab VM did not start sshd within {timeout:.0f}s: {self.console()}")

    def answers(self, within: float) -> bool:
        """Whether an SSH session completes within ``within`` seconds (retried; False once QEMU exited)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if self._banner() and self._logs_in():
                return True
            time.sleep(1.0)
        return False

    def _banner(self) -> bool:
        """sshd answers (QEMU accepts connections long before the guest does)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                return sock.recv(8).startswith(b"SSH-")
        except OSError:
            return False

    def _logs_in(self) -> bool:
        """A first SSH session completes (on a busy host the emulated guest's key exchange can outlast a try)."""
        try:
            self.ssh().close()
            return True
        except (paramiko.SSHException, OSError):
            return False

    def console(self) -> str:
        return self._tail("console.log")

    def diagnostics(self) -> str:
        """What a failure report needs: QEMU's state and CPU time, the guest's console, sshd's log."""
        if self.proc is None or self.proc.poll() is not None:
            state = f"QEMU exited ({None if self.proc is None else self.proc.returncode})"
        else:
            state = f"QEMU running, {cpu_seconds({self.proc.pid}):.0f} CPU s"
        return (f"{state}\n--- console.log\n{self._tail('console.log')}\n--- sshd.log\n{self._tail('sshd.log', 1500)}"
                f"\n--- qemu.log\n{self._tail('qemu.log', 1000)}")

    def _tail(self, name: str, size: int = 3000) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def ssh(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        # timeout bounds the key exchange too: the guest is emulated (TCG), and CI's host is busy
        client.connect("127.0.0.1", port=self.port, username="root", pkey=self.key, timeout=60, banner_timeout=60,
                       auth_timeout=30, allow_agent=False, look_for_keys=False)
        return client

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    @property
    def private_key(self) -> str:
        return (self.workdir / "client_key").read_text()


def host_kernel_has_vlan_bridge() -> bool:
    """Whether this kernel can make a VLAN-filtering bridge, a bond and a VLAN
    (probed in a throwaway namespace: needs root)."""
    ns = f"i15probe{os.getpid()}"
    script = (f"ip netns add {ns} && ip -n {ns} link add br0 type bridge vlan_filtering 1 && "
              f"ip -n {ns} link add bo0 type bond && ip -n {ns} link add link br0 name br0.5 type vlan id 5")
    ok = subprocess.run(["sh", "-c", script], capture_output=True).returncode == 0
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return ok

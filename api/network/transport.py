"""How a driver reaches its device's command line: a local process (optionally
inside a network namespace) or an SSH session (paramiko).

An address is ``local`` (or ``local:<netns>``) or ``ssh://host[:port]`` (also
plain ``host[:port]``). Options every driver understands: ``sudo`` (prefix
each command with ``sudo -n``), ``netns`` (run inside that namespace, locally
or over SSH: a switch living in a namespace of a Linux box), ``host_key`` (the
device's SSH public host key, ``ssh-ed25519 AAAA…``: checked when given,
otherwise any key is accepted and a warning logged once).
"""
from __future__ import annotations

import base64
import dataclasses
import io
import ipaddress
import logging
import re
import shlex
import socket
import subprocess
from typing import Any
from urllib.parse import urlsplit

from api.network.base import NetworkAuthFailed, NetworkError, NetworkUnreachable

log = logging.getLogger("ingot.network")
MAX_OUTPUT = 4 * 1024 * 1024
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")                      # a network namespace
HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")


@dataclasses.dataclass
class Result:
    rc: int
    out: str
    err: str


class Shell:
    """Runs one command (an argv list) on the device and returns its result."""

    def __init__(self, label: str, timeout: float, options: dict[str, Any], netns: str = ""):
        self.label = label
        self.timeout = timeout
        self.sudo = bool(options.get("sudo"))
        self.netns = netns or options.get("netns") or ""

    def argv(self, argv: list[str]) -> list[str]:
        inner = ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)
        return (["sudo", "-n"] if self.sudo else []) + inner

    def run(self, argv: list[str], stdin: str | None = None, check: bool = True) -> Result:
        """Raises NetworkError (a non-zero exit with ``check``), NetworkUnreachable, NetworkAuthFailed."""
        result = self._run(self.argv(argv), stdin)
        if check and result.rc != 0:
            detail = (result.err or result.out).strip().splitlines()
            raise NetworkError(f"exit {result.rc}: {' '.join(detail[-3:]) or 'no output'}", device=self.label,
                               command=shlex.join(argv))
        return result

    def _run(self, argv: list[str], stdin: str | None) -> Result:
        raise NotImplementedError

    def close(self) -> None:
        pass


class LocalShell(Shell):
    def _run(self, argv: list[str], stdin: str | None) -> Result:
        try:
            p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise NetworkUnreachable(f"no answer within {self.timeout:.0f}s", device=self.label,
                                     command=shlex.join(argv)) from None
        except OSError as exc:
            raise NetworkError(str(exc), device=self.label, command=shlex.join(argv)) from None
        return Result(p.returncode, p.stdout, p.stderr)


class SSHShell(Shell):
    """Commands over one SSH connection, opened at the first command."""

    _warned: set[str] = set()

    def __init__(self, label: str, timeout: float, options: dict[str, Any], host: str, port: int,
                 username: str | None, password: str | None, private_key: str | None):
        super().__init__(label, timeout, options)
        self.host, self.port = host, port
        self.username = username or "root"
        self.password = password or None
        self.private_key = private_key or None
        self.host_key = (options.get("host_key") or "").strip()
        self._client = None

    def _connect(self):
        import paramiko  # only switches and routers reached over SSH need it

        client = paramiko.SSHClient()
        if self.host_key:
            kind, blob = self.host_key.split()[:2]
            key = paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
            name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
            client.get_host_keys().add(name, key.get_name(), key)
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        else:
            if self.label not in self._warned:
                self._warned.add(self.label)
                log.warning("%s: no host_key option; accepting the SSH host key unchecked", self.label)
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        pkey = _private_key(self.private_key, self.label) if self.private_key else None
        try:
            client.connect(self.host, port=self.port, username=self.username, password=self.password, pkey=pkey,
                           timeout=self.timeout, banner_timeout=self.timeout, auth_timeout=self.timeout,
                           allow_agent=False, look_for_keys=False)
        except paramiko.AuthenticationException as exc:
            raise NetworkAuthFailed(f"SSH login as {self.username} refused: {exc}", device=self.label) from None
        except paramiko.BadHostKeyException:
            raise NetworkAuthFailed("SSH host key differs from the configured host_key", device=self.label) from None
        except (OSError, socket.timeout, paramiko.SSHException) as exc:
            raise NetworkUnreachable(f"SSH to {self.host}:{self.port} failed: {exc}", device=self.label) from None
        return client

    def _run(self, argv: list[str], stdin: str | None) -> Result:
        import paramiko

        command = shlex.join(argv)
        if self._client is None:
            self._client = self._connect()
        try:
            stdin_f, stdout_f, stderr_f = self._client.exec_command(command, timeout=self.timeout)
            if stdin is not None:
                stdin_f.write(stdin)
            stdin_f.channel.shutdown_write()
            # command outputs are small (a VLAN table, a running config): read them whole
            out = stdout_f.read(MAX_OUTPUT).decode(errors="replace")
            err = stderr_f.read(MAX_OUTPUT).decode(errors="replace")
            rc = stdout_f.channel.recv_exit_status()
        except (OSError, socket.timeout, paramiko.SSHException, AttributeError) as exc:
            self.close()  # a broken connection is reopened by the next command
            raise NetworkUnreachable(f"SSH session failed: {exc or type(exc).__name__}", device=self.label,
                                     command=command) from None
        return Result(rc, out, err)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None


def _private_key(text: str, label: str):
    """A paramiko key from its OpenSSH/PEM text, whatever its type. Raises NetworkAuthFailed."""
    import paramiko

    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise NetworkAuthFailed("the private key cannot be read (expected an unencrypted OpenSSH or PEM key)",
                            device=label)


@dataclasses.dataclass(frozen=True)
class Address:
    """Where a device's command line is: this host (in ``netns`` when given) or an SSH server."""

    local: bool
    netns: str = ""
    host: str = ""
    port: int = 22
    username: str = ""


def parse_address(address: str) -> Address:
    """``local``, ``local:<netns>``, ``ssh://[user@]host[:port]`` or ``host[:port]`` (see the module docstring).

    Raises:
        ValueError: any other form (the message says which forms there are).
    """
    address = (address or "").strip()
    forms = "expected local, local:<netns>, ssh://[user@]host[:port] or host[:port]"
    if address == "local" or address.startswith("local:"):
        netns = address.partition(":")[2]
        if address.endswith(":") or (netns and not NAME.fullmatch(netns)):
            raise ValueError(f"{address!r} names no network namespace ({forms})")
        return Address(True, netns=netns)
    if not address.isprintable() or " " in address:  # urlsplit drops a newline or tab silently
        raise ValueError(f"{address!r}: spaces or control characters ({forms})")
    url = urlsplit(address if "://" in address else f"ssh://{address}")
    if url.scheme != "ssh" or not url.hostname or url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError(f"{address!r}: {forms}")
    if url.password is not None:
        raise ValueError(f"{address!r}: no password in the address (give it as `password`)")
    try:
        port = url.port or 22
    except ValueError:
        raise ValueError(f"{address!r}: bad port ({forms})") from None
    host = url.hostname
    if not (HOST.fullmatch(host) or _is_ip(host)):
        raise ValueError(f"{address!r}: {host!r} is no host name or IP address ({forms})")
    return Address(False, host=host, port=port, username=url.username or "")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def open_shell(address: str, *, label: str, timeout: float, options: dict[str, Any],
               username: str | None = None, password: str | None = None, private_key: str | None = None) -> Shell:
    """The shell for ``address`` (see :func:`parse_address`).

    Raises:
        NetworkError: an address that is neither local nor an SSH host.
    """
    try:
        where = parse_address(address)
    except ValueError as exc:
        raise NetworkError(f"address {exc}", device=label) from None
    if where.local:
        return LocalShell(label, timeout, options, netns=where.netns)
    return SSHShell(label, timeout, options, where.host, where.port, where.username or username, password,
                    private_key)

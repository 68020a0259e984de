"""`ingot terraform install`: put the provider where Terraform finds it, under every address it serves.

Writes an unpacked local filesystem mirror with one executable per address and version:

    <dir>/registry.terraform.io/equinix/equinix/4.14.0/<os>_<arch>/terraform-provider-equinix_v4.14.0
    <dir>/registry.terraform.io/equinix/metal/3.3.0/<os>_<arch>/terraform-provider-metal_v3.3.0
    <dir>/terraform.local/ingot/metal/0.1.0/<os>_<arch>/terraform-provider-metal_v0.1.0

each a shell wrapper that execs this Python with `-m api.terraform.main`, telling it which address it
serves (INGOT_TF_ADDRESS). Terraform (0.13+, checked with 0.15 and 1.x) accepts an unpacked layout in
a filesystem mirror; `terraform init` records its `h1:` hash in the working directory's
`.terraform.lock.hcl` ("unauthenticated": no signature, as for every local mirror). The printed CLI
configuration takes these addresses from the mirror and every other provider from its registry as usual.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from . import env
from . import spec as specmod

DEFAULT_DIR = "~/.terraform.d/plugins"


def os_arch() -> str:
    platform_name = sys.platform.rstrip("0123456789")
    system = {"linux": "linux", "darwin": "darwin", "windows": "windows"}.get(platform_name, sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "i386": "386", "i686": "386"}.get(machine, machine)
    return f"{system}_{arch}"


@dataclass
class Installed:
    mirror_dir: Path
    # source -> versions written, in the order of provider-schema/provider.json
    versions: dict[str, list[str]]
    executables: list[Path] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return list(self.versions)

    @property
    def executable(self) -> Path:
        """The executable of Ingot's own address (terraform.local/ingot/metal)."""
        return next(p for p in self.executables if "terraform.local" in p.parts)

    def cli_config(self) -> str:
        """The CLI configuration that takes the served addresses from this mirror (and nothing else)."""
        quoted = ", ".join(f'"{s}"' for s in self.sources)
        return (
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f'    path    = "{self.mirror_dir}"\n'
            f"    include = [{quoted}]\n"
            "  }\n"
            "  direct {\n"
            f"    exclude = [{quoted}]\n"
            "  }\n"
            "}\n"
        )

    def instructions(self) -> str:
        lines = [f"Installed Ingot's Terraform provider into {self.mirror_dir}:"]
        lines += [f"  {s} {', '.join(v)}" for s, v in self.versions.items()]
        lines += [
            "",
            "Put this in your Terraform CLI configuration (~/.terraformrc, or a file named by",
            "$TF_CLI_CONFIG_FILE), so that `terraform init` takes these providers from the mirror:",
            "",
            self.cli_config(),
            "Then, in a directory whose configuration uses equinix/equinix (equinix_metal_*) or",
            "equinix/metal (metal_*), unedited:",
            "",
            "  export METAL_AUTH_TOKEN=<your Ingot API token>",
            "  export EQUINIX_API_ENDPOINT=<your Ingot URL, e.g. http://127.0.0.1:8080>",
            "  terraform init -upgrade && terraform plan",
            "",
            "A version pin that none of the versions above satisfies: add one with --version.",
        ]
        return "\n".join(lines)


def wrapper_script(python: str, pythonpath: Optional[str], schema_dir: Optional[str], source: str) -> str:
    """The provider executable: exports what the provider needs, then execs `python -m api.terraform.main`."""
    exports = [f"{env.ADDRESS}={shlex.quote(source)}"]
    if pythonpath:
        exports.append(f'PYTHONPATH={shlex.quote(pythonpath)}${{PYTHONPATH:+:$PYTHONPATH}}')
    if schema_dir:
        exports.append(f'{env.SCHEMA_DIR}="${{{env.SCHEMA_DIR}:-{schema_dir}}}"')
    lines = "".join(f"export {e}\n" for e in exports)
    return (
        "#!/bin/sh\n"
        "# Ingot Terraform provider wrapper, written by `ingot terraform install`.\n"
        f"{lines}"
        f"exec {shlex.quote(python)} -m api.terraform.main \"$@\"\n"
    )


def _source_root() -> Optional[str]:
    """The checkout `api` is imported from (it goes on the provider's PYTHONPATH); None for an installed package."""
    root = Path(__file__).resolve().parents[2]
    return str(root) if (root / "pyproject.toml").is_file() else None


def parse_extra_versions(values: Iterable[str], defn: specmod.ProviderDef) -> dict[str, list[str]]:
    """`--version` values: `4.16.1` (for every address) or `equinix/equinix=4.16.1` (for one).

    Raises ValueError naming a bad value."""
    extra: dict[str, list[str]] = {}
    for raw in values:
        where, _, version = raw.rpartition("=")
        if not version or not all(p.isdigit() for p in version.split(".")) or version.count(".") != 2:
            raise ValueError(f"--version {raw!r}: expected X.Y.Z or NAMESPACE/TYPE=X.Y.Z")
        matched = [a.source for a in defn.addresses if not where or a.source.endswith("/" + where.strip("/"))]
        if not matched:
            raise ValueError(f"--version {raw!r}: no served address ends with {where!r}")
        for source in matched:
            extra.setdefault(source, []).append(version)
    return extra


def install(directory: Optional[str | os.PathLike] = None, python: Optional[str] = None,
            extra_versions: Iterable[str] = ()) -> Installed:
    """Install the provider under every address and version into a local filesystem mirror.

    The provider finds provider-schema/ as this process does (the package's copy, or the
    checkout's); an INGOT_PROVIDER_SCHEMA set now is written into the wrappers as their default.
    Raises ValueError for a bad `extra_versions` value."""
    defn = specmod.load()
    extra = parse_extra_versions(extra_versions, defn)
    mirror = Path(os.path.expanduser(str(directory or DEFAULT_DIR))).resolve()
    override = env.schema_dir()
    installed = Installed(mirror, {})
    for address in defn.addresses:
        versions = list(dict.fromkeys([*address.versions, *extra.get(address.source, [])]))
        installed.versions[address.source] = versions
        script = wrapper_script(python or sys.executable, _source_root(),
                                str(override.resolve()) if override else None, address.source)
        for version in versions:
            target_dir = mirror.joinpath(*address.source.split("/"), version, os_arch())
            target_dir.mkdir(parents=True, exist_ok=True)
            exe = target_dir / f"terraform-provider-{address.type}_v{version}"
            tmp = exe.with_suffix(".tmp")
            tmp.write_text(script)
            tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
            tmp.replace(exe)
            installed.executables.append(exe)
    return installed


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m api.terraform.install", description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=None, help=f"mirror directory (default {DEFAULT_DIR})")
    ap.add_argument("--version", action="append", default=[],
                    help="another version to serve: X.Y.Z (every address) or equinix/equinix=X.Y.Z")
    args = ap.parse_args(argv)
    try:
        print(install(args.dir, extra_versions=args.version).instructions())
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

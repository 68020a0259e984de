"""`ingot terraform install`: put the provider where Terraform finds it.

Writes an unpacked local filesystem mirror:

    <dir>/terraform.local/ingot/metal/<version>/<os>_<arch>/terraform-provider-metal_v<version>

an executable shell wrapper that execs this Python with `-m api.terraform.main`.
Terraform (0.13+, checked with 0.15 and 1.x) accepts an unpacked layout in a
filesystem mirror; `terraform init` records its `h1:` hash in the working
directory's `.terraform.lock.hcl` ("unauthenticated": no signature, as for every
local mirror). `~/.terraform.d/plugins` is one of Terraform's implied mirror
directories, so the default needs no CLI configuration unless the CLI
configuration already has a `provider_installation` block.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import env
from . import spec as specmod
from .env import SCHEMA_DIR as ENV_SCHEMA_DIR

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
    executable: Path
    source: str
    version: str

    def required_providers_block(self) -> str:
        return (
            "terraform {\n"
            "  required_providers {\n"
            "    metal = {\n"
            f'      source  = "{self.source}"\n'
            f'      version = "{self.version}"\n'
            "    }\n"
            "  }\n"
            "}\n"
        )

    def cli_config(self) -> str:
        return (
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f'    path    = "{self.mirror_dir}"\n'
            f'    include = ["{self.source}"]\n'
            "  }\n"
            "  direct {\n"
            f'    exclude = ["{self.source}"]\n'
            "  }\n"
            "}\n"
        )

    def dev_overrides_config(self) -> str:
        return (
            "provider_installation {\n"
            "  dev_overrides {\n"
            f'    "{self.source}" = "{self.executable.parent}"\n'
            "  }\n"
            "  direct {}\n"
            "}\n"
        )

    def instructions(self) -> str:
        default = self.mirror_dir == Path(os.path.expanduser(DEFAULT_DIR)).resolve()
        lines = [
            f"Installed {self.source} {self.version} at {self.executable}",
            "",
            "Use it from a configuration with:",
            "",
            self.required_providers_block(),
        ]
        if default:
            lines += [
                f"{DEFAULT_DIR} is one of Terraform's implied local mirrors: `terraform init` finds the",
                "provider without further setup, unless your CLI configuration (~/.terraformrc or",
                "$TF_CLI_CONFIG_FILE) has a provider_installation block; then add this mirror to it:",
                "",
            ]
        else:
            lines += ["Point Terraform at this mirror in the CLI configuration (~/.terraformrc or "
                      "$TF_CLI_CONFIG_FILE):", ""]
        lines += [self.cli_config(), "Or, while developing the provider, skip `terraform init` for it with:", "",
                  self.dev_overrides_config()]
        lines += ["Configure it with `endpoint` and `auth_token` in a provider \"metal\" block, "
                  "or INGOT_ENDPOINT / INGOT_AUTH_TOKEN."]
        return "\n".join(lines)


def wrapper_script(python: str, pythonpath: Optional[str], schema_dir: Optional[str]) -> str:
    """The provider executable: exports what the provider needs, then execs `python -m api.terraform.main`."""
    env = []
    if pythonpath:
        env.append(f'PYTHONPATH={shlex.quote(pythonpath)}${{PYTHONPATH:+:$PYTHONPATH}}')
    if schema_dir:
        env.append(f'{ENV_SCHEMA_DIR}="${{{ENV_SCHEMA_DIR}:-{schema_dir}}}"')
    exports = "".join(f"export {e}\n" for e in env)
    return (
        "#!/bin/sh\n"
        "# Ingot Terraform provider wrapper, written by `ingot terraform install`.\n"
        f"{exports}"
        f"exec {shlex.quote(python)} -m api.terraform.main \"$@\"\n"
    )


def _source_root() -> Optional[str]:
    """The checkout `api` is imported from (it goes on the provider's PYTHONPATH); None for an installed package."""
    root = Path(__file__).resolve().parents[2]
    return str(root) if (root / "pyproject.toml").is_file() else None


def install(directory: Optional[str | os.PathLike] = None, python: Optional[str] = None) -> Installed:
    """Install the provider into a local filesystem mirror and return what was written.

    The provider finds provider-schema/ as this process does (the package's copy, or the
    checkout's); an INGOT_PROVIDER_SCHEMA set now is written into the wrapper as its default."""
    defn = specmod.load()
    mirror = Path(os.path.expanduser(str(directory or DEFAULT_DIR))).resolve()
    host, namespace, name = defn.source.split("/")
    target_dir = mirror / host / namespace / name / defn.version / os_arch()
    target_dir.mkdir(parents=True, exist_ok=True)
    exe = target_dir / f"terraform-provider-{name}_v{defn.version}"
    override = env.schema_dir()
    script = wrapper_script(python or sys.executable, _source_root(), str(override.resolve()) if override else None)
    tmp = exe.with_suffix(".tmp")
    tmp.write_text(script)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
    tmp.replace(exe)
    return Installed(mirror, exe, defn.source, defn.version)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m api.terraform.install", description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=None, help=f"mirror directory (default {DEFAULT_DIR})")
    args = ap.parse_args(argv)
    print(install(args.dir).instructions())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

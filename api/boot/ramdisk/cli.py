"""``ingot admin ramdisk build [--output DIR] [--modules ...] [--firmware PKG] [--hooks DIR] [--kernel-deb F]
[--force]`` (wired in api/cli/admin.py with ``admin.add_command``)."""
from __future__ import annotations

import json
import os

import click

from api.boot.ramdisk.build import RamdiskBuildError, build_ramdisk
from api.core.config import Settings


@click.group("ramdisk")
def ramdisk() -> None:
    """The deploy ramdisk (kernel + busybox initramfs with Ingot's agent)."""


@ramdisk.command("build")
@click.option("--output", "-o", type=click.Path(file_okay=False),
              help="Copy vmlinuz, initrd and ingot-deploy.json here (default: Ingot's ramdisk_dir).")
@click.option("--modules", "-m", multiple=True,
              help="Extra modules or sets (@hardware, @nic, @storage), comma separated; repeatable.")
@click.option("--firmware", multiple=True, help="Debian firmware package to include (repeatable).")
@click.option("--hooks", type=click.Path(exists=True, file_okay=False),
              help="Directory of *.sh hooks the agent sources before networking.")
@click.option("--kernel-deb", type=click.Path(exists=True, dir_okay=False),
              help="A local linux-image-*.deb instead of Debian's current linux-image-amd64.")
@click.option("--force", is_flag=True, help="Rebuild even if the cache has this variant.")
def build(output, modules, firmware, hooks, kernel_deb, force) -> None:
    """Build (or reuse from the cache) the deploy ramdisk."""
    if output is None:
        output = default_output()
    try:
        rd = build_ramdisk(output, modules=modules, firmware_packages=firmware, hooks_dir=hooks,
                           kernel_deb=kernel_deb, force=force)
    except RamdiskBuildError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(rd.as_dict(), indent=2))


def default_output() -> str:
    """Where Ingot serves the ramdisk from: the server setting ``ramdisk_dir``
    (``INGOT_RAMDISK_DIR``), else ``<data_dir>/ramdisk``. The build cache is separate
    (``INGOT_RAMDISK_CACHE``)."""
    s = Settings.from_env()
    return s.ramdisk_dir or os.path.join(s.data_dir, "ramdisk")


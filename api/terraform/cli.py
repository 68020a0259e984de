"""`ingot terraform ...` commands. Wired into the ``ingot`` command (api/cli/__init__.py) with:

    from api.terraform.cli import terraform
    main.add_command(terraform)
"""
from __future__ import annotations

import sys

import click

from .docs import main as docs_main
from .install import install
from .openapi_check import main as oc_main
from .validation import validate


@click.group()
def terraform():
    """Ingot's Terraform provider (equinix/equinix, equinix/metal and terraform.local/ingot/metal)."""


@terraform.command("install")
@click.option("--dir", "directory", default=None, metavar="DIR",
              help="Filesystem mirror to install into (default ~/.terraform.d/plugins).")
@click.option("--version", "versions", multiple=True, metavar="VERSION",
              help="Also serve this version: X.Y.Z for every address, or equinix/equinix=X.Y.Z for one.")
def install_cmd(directory, versions):
    """Install the provider into a local filesystem mirror and print the CLI configuration that uses it."""
    try:
        installed = install(directory, extra_versions=versions)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(installed.instructions())


@terraform.command("docs")
@click.option("--check", is_flag=True, help="Only check that docs/terraform/ matches provider-schema/.")
def docs_cmd(check):
    """Regenerate the provider reference in docs/terraform/ from provider-schema/."""
    sys.exit(docs_main(["--check"] if check else []))


@terraform.command("check-openapi")
@click.argument("source", required=False)
def check_openapi_cmd(source):
    """Check provider-schema/ against an API's OpenAPI document (URL of an Ingot, or a file).

    Without SOURCE, list every endpoint and field the provider uses."""
    sys.exit(oc_main([source] if source else ["--needs"]))


@terraform.command("schema")
def schema_cmd():
    """Validate provider-schema/ against its JSON Schema."""
    errors = validate()
    for e in errors:
        click.echo(e, err=True)
    if errors:
        sys.exit(1)
    click.echo("provider-schema/ is valid")

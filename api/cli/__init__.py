"""The ``ingot`` command: a client of the HTTP API for tenants and operators (``api.cli.client``, which
imports nothing of the server), and the server's own commands (``api.cli.admin``: ``serve``, ``worker``,
``ingot admin …``). A plain click group: no Flask CLI options or commands.

The server's commands are loaded when they are called (or listed by ``--help``), as click's docs
show for lazily loaded subcommands: a client command never imports the server, so it starts fast on
a laptop."""
from __future__ import annotations

import importlib
import signal

import click

from api.cli.client import account, catalog, devices, fleet, network
from api.cli.client.context import CliContext
from api.cli.client.http import cli_version
from api.cli.client.profiles import ENV_PROFILE

SECTIONS = (
    ("Sign in and projects", ("login", "logout", "project", "ssh-key", "api-key")),
    ("Tenants", ("device", "ip", "plan", "metro", "os", "capacity", "terraform")),
    ("Operators", ("machine", "ip-pool")),
    ("Running Ingot (on the server)", ("serve", "worker", "admin")),
)


# loaded on first use: "module:attribute"
LAZY = {"serve": "api.cli.admin:serve", "worker": "api.cli.admin:worker", "admin": "api.cli.admin:admin",
        "terraform": "api.terraform.cli:terraform"}  # the provider runs on the tenant's machine: not admin


# the commands that put in their own SIGTERM/SIGINT handlers once started (api/cli/admin.py, StopFlag)
STOPPABLE = ("serve", "worker")


class IngotGroup(click.Group):
    """``ingot --help`` lists the commands by audience, each with its one line of help."""

    def resolve_command(self, ctx, args):
        if args and args[0] in STOPPABLE:
            # until the command's handlers are in, SIGINT must end the process: Python's own handler raises
            # KeyboardInterrupt, which is lost when it lands in a callback (CI: inside importlib's module-lock
            # callback while `ingot worker` loaded its modules; the worker went on); the kernel's default is not
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx):
        return [name for _, names in SECTIONS for name in names if name in self.commands or name in LAZY]

    def get_command(self, ctx, name):
        if name in LAZY and name not in self.commands:
            module, attribute = LAZY[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        names = self.list_commands(ctx)
        width = formatter.width - 6 - max(len(n) for n in names)
        for title, section in SECTIONS:
            rows = [(n, self.get_command(ctx, n).get_short_help_str(limit=width)) for n in section if n in names]
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


@click.group(cls=IngotGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--profile", envvar=ENV_PROFILE, default=None, metavar="NAME",
              help=f"The profile (endpoint, token, project) to use [${ENV_PROFILE}, the current one].")
@click.version_option(cli_version(), "--version", prog_name="ingot")
@click.pass_context
def main(ctx: click.Context, profile: str | None):
    """Ingot: a self-hosted bare-metal cloud with an Equinix Metal-shaped API.

    Sign in with `ingot login`; `-o json` or `-o yaml` on any command that shows
    something; exit codes: 0 ok, 1 refused, 2 usage, 3 auth, 4 not found,
    5 conflict, 6 API unreachable or failing, 7 operation failed, 8 timed out.
    """
    ctx.obj = CliContext(profile)


for _module in (account, devices, network, catalog, fleet):
    for _command in _module.COMMANDS:
        main.add_command(_command)

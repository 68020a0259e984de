"""What every client command shares: the chosen profile, its API client, the current project."""
from __future__ import annotations

import re

import click

from api.cli.client.http import EXIT_AUTH, EXIT_NOT_FOUND, ApiClient, CliError
from api.cli.client.profiles import ConfigFile, Profile, effective

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class CliContext:
    """The root command's object; commands get it with ``@pass_cli``."""

    def __init__(self, profile_name: str | None = None):
        self.profile_name = profile_name
        self._client: ApiClient | None = None

    def config(self) -> ConfigFile:
        try:
            return ConfigFile()
        except ValueError as exc:
            raise CliError(str(exc)) from None

    def profile(self) -> Profile:
        """The profile in force: the file's (``--profile`` or its current one) overridden by the environment."""
        return effective(self.config().get(self.profile_name))

    @property
    def api(self) -> ApiClient:
        """The API client of the profile in force.

        Raises:
            CliError: no endpoint or token (exit code 3).
        """
        if self._client is None:
            p = self.profile()
            if not p.endpoint or not p.token:
                raise CliError(f"not signed in (profile {p.name!r}): run `ingot login`, or set INGOT_ENDPOINT "
                               "and INGOT_AUTH_TOKEN", EXIT_AUTH)
            self._client = ApiClient(p.endpoint, p.token)
        return self._client

    def project_id(self, given: str | None) -> str:
        """The project a command acts on: ``given`` (an id or a name), else the profile's, else the
        caller's only project.

        Raises:
            CliError: no such project, or none chosen among several.
        """
        wanted = given or self.profile().project
        if wanted and UUID_RE.match(wanted):
            return wanted
        projects = self.api.all_pages("/projects", "projects")
        if wanted:
            match = [p for p in projects if p.get("name") == wanted]
            if len(match) != 1:
                raise CliError(f"no project named {wanted!r}" if not match else
                               f"{len(match)} projects are named {wanted!r}: use its id", EXIT_NOT_FOUND)
            return match[0]["id"]
        if len(projects) == 1:
            return projects[0]["id"]
        raise CliError("no project chosen: pass --project, or run `ingot project use ID`"
                       if projects else "you belong to no project: `ingot project create NAME`")


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def project_option(f):
    """``-p/--project``: the project to act on (id or name; default: the profile's)."""
    return click.option("-p", "--project", "project", default=None, metavar="ID|NAME",
                        help="Project id or name [default: the profile's, or your only project].")(f)

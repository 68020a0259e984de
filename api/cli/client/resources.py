"""One command factory for the collections that are lists of simple objects (plans, metros, operating
systems, IP pools, SSH keys…): ``list``, ``get``, and for the writable ones ``create``, ``update``,
``delete``, each an HTTP call, written once."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

import click

from api.cli.client.context import UUID_RE, CliContext, pass_cli
from api.cli.client.http import EXIT_NOT_FOUND, CliError
from api.cli.client.output import Column, output_option, show


@dataclasses.dataclass(frozen=True)
class Field:
    """A JSON field of a create/update body, given as the option ``--<name>``."""

    name: str
    help: str
    type: Any = str
    required: bool = False      # on create
    create_only: bool = False   # not changeable afterwards
    is_json: bool = False       # a JSON object (or @file with one)
    multiple: bool = False      # a list: the option repeats

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def param(self) -> str:
        return self.name.replace("-", "_")


@dataclasses.dataclass(frozen=True)
class Resource:
    """A collection of the API as the CLI shows it."""

    noun: str                   # "plan"
    path: str                   # "/plans"
    key: str                    # the list's JSON key: "plans"
    columns: list[Column]       # list
    detail: list[Column]        # get
    lookup: str = ""            # a field that names an object besides its id ("slug", "code")
    fields: tuple[Field, ...] = ()

    def resolve(self, cli: CliContext, ref: str) -> str:
        """An object's id from its id or its ``lookup`` field.

        Raises:
            CliError: no such object (exit code 4).
        """
        if UUID_RE.match(ref) or not self.lookup:
            return ref
        for item in cli.api.all_pages(self.path, self.key):
            if item.get(self.lookup) == ref:
                return item["id"]
        raise CliError(f"no {self.noun} {ref!r}", EXIT_NOT_FOUND)


def json_value(value: str) -> Any:
    """A JSON option's value: JSON text, or ``@path`` of a file holding it.

    Raises:
        click.BadParameter: not JSON.
    """
    try:
        if value.startswith("@"):
            with open(value[1:]) as f:
                return json.load(f)
        return json.loads(value)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"not JSON (or @file with JSON): {exc}") from None


def changes(body: dict) -> dict:
    """An update's body: the options that were given (None: not given).

    Raises:
        click.UsageError: none was given.
    """
    body = {k: v for k, v in body.items() if v is not None}
    if not body:
        raise click.UsageError("nothing to change: give at least one option")
    return body


def body_of(fields: tuple[Field, ...], values: dict, creating: bool) -> dict:
    """The request body: the options given (on update only those)."""
    body = {}
    for f in fields:
        value = values.get(f.param)
        if value is None or (f.multiple and not value and not creating):
            continue
        if f.create_only and not creating:
            continue
        body[f.name] = json_value(value) if f.is_json else (list(value) if f.multiple else value)
    return body


def field_options(fields: tuple[Field, ...], creating: bool) -> Callable:
    """Decorate a command with one option per field."""
    def decorate(f):
        for field in reversed([x for x in fields if creating or not x.create_only]):
            f = click.option(field.option, field.param, type=field.type, multiple=field.multiple,
                             required=creating and field.required,
                             help=field.help + (" (JSON, or @file)" if field.is_json else ""))(f)
        return f
    return decorate


def add_read_commands(group: click.Group, res: Resource) -> None:
    """``list`` and ``get`` of ``res`` on ``group``."""
    @group.command("list", help=f"List {res.key.replace('_', ' ')}.")
    @output_option
    @pass_cli
    def list_cmd(cli: CliContext, fmt: str):
        show(cli.api.all_pages(res.path, res.key), fmt, res.columns)

    @group.command("get", help=f"Show a {res.noun}.")
    @click.argument("ref", metavar="ID" + (f"|{res.lookup.upper()}" if res.lookup else ""))
    @output_option
    @pass_cli
    def get_cmd(cli: CliContext, ref: str, fmt: str):
        show(cli.api.get(f"{res.path}/{res.resolve(cli, ref)}"), fmt, res.detail)


def add_write_commands(group: click.Group, res: Resource, who: str = "Operator: ") -> None:
    """``create``, ``update`` and ``delete`` of ``res`` on ``group``."""
    @group.command("create", help=f"{who}add a {res.noun}.")
    @field_options(res.fields, creating=True)
    @output_option
    @pass_cli
    def create_cmd(cli: CliContext, fmt: str, **values):
        show(cli.api.post(res.path, body_of(res.fields, values, creating=True)), fmt, res.detail)

    @group.command("update", help=f"{who}change a {res.noun}.")
    @click.argument("ref", metavar="ID" + (f"|{res.lookup.upper()}" if res.lookup else ""))
    @field_options(res.fields, creating=False)
    @output_option
    @pass_cli
    def update_cmd(cli: CliContext, ref: str, fmt: str, **values):
        body = changes(body_of(res.fields, values, creating=False))
        show(cli.api.put(f"{res.path}/{res.resolve(cli, ref)}", body), fmt, res.detail)

    add_delete_command(group, f"{who}delete a {res.noun}.", "ID" + (f"|{res.lookup.upper()}" if res.lookup else ""),
                       lambda cli, ref: f"{res.path}/{res.resolve(cli, ref)}")


def add_delete_command(group: click.Group, help_text: str, metavar: str, path_of: Callable[[CliContext, str], str],
                       done: str = "deleted") -> None:
    """``delete REF`` on ``group``: ``DELETE path_of(cli, REF)``."""
    @group.command("delete", help=help_text)
    @click.argument("ref", metavar=metavar)
    @pass_cli
    def delete_cmd(cli: CliContext, ref: str):
        cli.api.delete(path_of(cli, ref))
        click.echo(f"{ref} {done}", err=True)

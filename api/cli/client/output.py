"""How the CLI shows answers: a table (rich) for people, ``-o json`` or ``-o yaml`` for scripts."""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any, Callable

import click
import yaml
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "yaml")
PIPE_WIDTH = 250  # a table piped to a file or grep: wide, rather than cut at 80 columns


def output_option(f):
    """``-o/--output``: table (default), json or yaml."""
    return click.option("-o", "--output", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                        help="Output format: a table for people, json or yaml for scripts.")(f)


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a table: its header and the value's path in the JSON (``plan.slug``) or a function."""

    header: str
    path: str | Callable[[dict], Any]


def value_at(obj: Any, path: str | Callable[[dict], Any]) -> Any:
    if callable(path):
        return path(obj)
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def stdout() -> Console:
    piped = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return Console(highlight=False, width=PIPE_WIDTH if piped else None)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def show(data: Any, fmt: str, columns: list[Column], *, title: str | None = None) -> None:
    """Print ``data`` (a list of objects, or one object) in ``fmt``; a table shows ``columns``."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    if fmt == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)
        return
    if isinstance(data, list):
        table = Table(title=title)
        for c in columns:
            table.add_column(c.header, overflow="fold")  # a narrow terminal wraps values, never cuts ids
        for item in data:
            table.add_row(*[text(value_at(item, c.path)) for c in columns])
    else:
        table = Table(title=title, show_header=False)
        table.add_column("field", no_wrap=True)
        table.add_column("value", overflow="fold")
        for c in columns:
            table.add_row(c.header, text(value_at(data, c.path)))
    stdout().print(table)

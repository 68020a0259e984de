"""``ingot ip …``: a project's reserved IP blocks and the addresses of its devices."""
from __future__ import annotations

import click

from api.cli.client.context import CliContext, pass_cli, project_option
from api.cli.client.devices import resolve as resolve_device
from api.cli.client.output import Column, output_option, show
from api.cli.client.resources import add_delete_command, changes

COLUMNS = [Column("id", "id"), Column("type", "type"), Column("network", "cidr_notation"),
           Column("address", "address"), Column("metro", "metro.code"), Column("public", "public"),
           Column("tags", "tags"), Column("description", "description")]
ASSIGNED = [Column("id", "id"), Column("address", "address"), Column("cidr", "cidr"),
            Column("family", "address_family"), Column("public", "public"), Column("gateway", "gateway")]


@click.group()
def ip():
    """IP blocks of a project and addresses of devices."""


@ip.command("list")
@click.option("--device", "device_ref", default=None, metavar="ID|HOSTNAME", help="This device's addresses.")
@project_option
@output_option
@pass_cli
def ip_list(cli: CliContext, device_ref, project, fmt):
    """List the project's reserved blocks (or a device's addresses)."""
    if device_ref:
        path = f"/devices/{resolve_device(cli, device_ref, project)}/ips"
        show(cli.api.all_pages(path, "ip_addresses"), fmt, ASSIGNED)
    else:
        show(cli.api.all_pages(f"/projects/{cli.project_id(project)}/ips", "ip_addresses"), fmt, COLUMNS)


@ip.command("get")
@click.argument("ip_id", metavar="ID")
@output_option
@pass_cli
def ip_get(cli: CliContext, ip_id, fmt):
    """Show a reserved block or an assigned address."""
    body = cli.api.get(f"/ips/{ip_id}")
    show(body, fmt, COLUMNS if "cidr_notation" in body else ASSIGNED)


@ip.command("request")
@click.option("--type", "kind", required=True, type=click.Choice(("public_ipv4", "private_ipv4", "public_ipv6")))
@click.option("-m", "--metro", required=True, help="Metro code.")
@click.option("-q", "--quantity", default=1, show_default=True, type=click.IntRange(1, 256),
              help="How many addresses.")
@click.option("-t", "--tag", "tags", multiple=True, help="A tag (repeat).")
@click.option("--description", default="", help="A note.")
@project_option
@output_option
@pass_cli
def ip_request(cli: CliContext, kind, metro, quantity, tags, description, project, fmt):
    """Reserve a block of addresses for the project."""
    body = {"type": kind, "metro": metro, "quantity": quantity, "tags": list(tags), "description": description}
    show(cli.api.post(f"/projects/{cli.project_id(project)}/ips", body), fmt, COLUMNS)


@ip.command("update")
@click.argument("ip_id", metavar="ID")
@click.option("-t", "--tag", "tags", multiple=True, help="Replace the tags (repeat).")
@click.option("--description", default=None, help="A new note.")
@output_option
@pass_cli
def ip_update(cli: CliContext, ip_id, tags, description, fmt):
    """Change a reserved block's tags or description."""
    show(cli.api.put(f"/ips/{ip_id}", changes({"tags": list(tags) or None, "description": description})), fmt,
         COLUMNS)


@ip.command("assign")
@click.argument("device_ref", metavar="DEVICE")
@click.argument("address")
@project_option
@output_option
@pass_cli
def ip_assign(cli: CliContext, device_ref, address, project, fmt):
    """Assign an address of a reserved block to a device."""
    device_id = resolve_device(cli, device_ref, project)
    show(cli.api.post(f"/devices/{device_id}/ips", {"address": address}), fmt, ASSIGNED)


add_delete_command(ip, "Release a reserved block, or unassign an address from its device.", "ID",
                   lambda cli, ip_id: f"/ips/{ip_id}", done="released")


COMMANDS = (ip,)

"""``ingot plan|metro|os|ip-pool|capacity``: the catalogue tenants choose from, and operators keep."""
from __future__ import annotations

import click

from api.cli.client.context import CliContext, pass_cli
from api.cli.client.output import Column, output_option, show
from api.cli.client.resources import Field, Resource, add_read_commands, add_write_commands

PLANS = Resource(
    "plan", "/plans", "plans", lookup="slug",
    columns=[Column("slug", "slug"), Column("name", "name"), Column("class", "class"),
             Column("$/hour", "pricing.hour"),
             Column("metros", lambda p: [m.get("code") for m in p.get("available_in_metros") or []])],
    detail=[Column("id", "id"), Column("slug", "slug"), Column("name", "name"), Column("class", "class"),
            Column("description", "description"), Column("$/hour", "pricing.hour"), Column("specs", "specs"),
            Column("match", "match"),
            Column("metros", lambda p: [m.get("code") for m in p.get("available_in_metros") or []])],
    fields=(Field("slug", "Short name, e.g. c3.small.x86.", required=True, create_only=True),
            Field("name", "Display name.", required=True), Field("class", "Plan class (Equinix's)."),
            Field("description", "What it is for."), Field("line", "Product line [baremetal]."),
            Field("price_hour", "Price per hour.", type=float),
            Field("specs", "What tenants see: cpus, memory, drives, nics.", is_json=True),
            Field("match", "Inspection rules: cpus, memory_mib, disk_count, disk_min_gb, nic_count.",
                  is_json=True)))

METROS = Resource(
    "metro", "/locations/metros", "metros", lookup="code",
    columns=[Column("code", "code"), Column("name", "name"), Column("country", "country"), Column("id", "id")],
    detail=[Column("id", "id"), Column("code", "code"), Column("name", "name"), Column("country", "country")],
    fields=(Field("code", "2 to 16 lowercase letters or digits.", required=True, create_only=True),
            Field("name", "Display name.", required=True), Field("country", "Country code.")))

OPERATING_SYSTEMS = Resource(
    "operating system", "/operating-systems", "operating_systems", lookup="slug",
    columns=[Column("slug", "slug"), Column("name", "name"), Column("distro", "distro"),
             Column("version", "version"), Column("install", "install_method")],
    detail=[Column("id", "id"), Column("slug", "slug"), Column("name", "name"), Column("distro", "distro"),
            Column("version", "version"), Column("install method", "install_method"),
            Column("default user", "default_user"), Column("plans", "provisionable_on")],
    fields=(Field("slug", "Short name, e.g. ubuntu_24_04.", required=True, create_only=True),
            Field("name", "Display name.", required=True), Field("distro", "Distribution."),
            Field("version", "Version."),
            Field("install_method", "ipxe_recipe, image or custom_ipxe.",
                  type=click.Choice(("ipxe_recipe", "image", "custom_ipxe"))),
            Field("kernel_url", "ipxe_recipe: the installer's kernel."),
            Field("initrd_url", "ipxe_recipe: the installer's initrd."),
            Field("cmdline_template", "ipxe_recipe: kernel command line (Jinja)."),
            Field("install_kind", "ipxe_recipe: autoinstall or preseed.",
                  type=click.Choice(("", "autoinstall", "preseed"))),
            Field("image_url", "image: the disk image."), Field("image_checksum", "image: sha256:<hex>."),
            Field("image_format", "image: raw, gz or xz.", type=click.Choice(("raw", "gz", "xz"))),
            Field("default_user", "The user tenants log in as."),
            Field("provisionable_on", "A plan slug it may be installed on (repeat).", multiple=True)))

IP_POOLS = Resource(
    "IP pool", "/ip-pools", "ip_pools", lookup="cidr",
    columns=[Column("id", "id"), Column("metro", "metro.code"), Column("type", "type"), Column("cidr", "cidr"),
             Column("gateway", "gateway"), Column("description", "description")],
    detail=[Column("id", "id"), Column("metro", "metro.code"), Column("type", "type"), Column("cidr", "cidr"),
            Column("gateway", "gateway"), Column("description", "description")],
    fields=(Field("metro", "Metro code or id.", required=True, create_only=True),
            Field("type", "public_ipv4, private_ipv4 or public_ipv6.", required=True, create_only=True,
                  type=click.Choice(("public_ipv4", "private_ipv4", "public_ipv6"))),
            Field("cidr", "The pool's network, e.g. 198.51.100.0/24.", required=True, create_only=True),
            Field("gateway", "Gateway address (default: the first host)."), Field("description", "A note.")))


@click.group("plan")
def plan():
    """Plans (hardware classes); operators change them."""


@click.group("metro")
def metro():
    """Metros (sites); operators change them."""


@click.group("os")
def os_group():
    """Operating systems; operators change them."""


@click.group("ip-pool")
def ip_pool():
    """Operator: the IP pools of each metro."""


for _group, _res in ((plan, PLANS), (metro, METROS), (os_group, OPERATING_SYSTEMS), (ip_pool, IP_POOLS)):
    add_read_commands(_group, _res)
    add_write_commands(_group, _res)


@click.command("capacity")
@output_option
@pass_cli
def capacity(cli: CliContext, fmt: str):
    """Free machines of each plan in each metro."""
    body = cli.api.get("/capacity/metros")
    rows = [{"metro": m, "plan": p, "level": v.get("level"), "available": v.get("available_servers")}
            for m, plans in sorted((body.get("capacity") or {}).items()) for p, v in sorted(plans.items())]
    show(rows if fmt == "table" else body, fmt,
         [Column("metro", "metro"), Column("plan", "plan"), Column("level", "level"),
          Column("available", "available")])


COMMANDS = (plan, metro, os_group, capacity, ip_pool)

"""``ingot device …``: a tenant's servers, from create to delete."""
from __future__ import annotations

import click

from api.cli.client.context import UUID_RE, CliContext, pass_cli, project_option
from api.cli.client.http import EXIT_NOT_FOUND, CliError
from api.cli.client.output import Column, output_option, show
from api.cli.client.resources import changes, json_value
from api.cli.client.watch import EventCursor, follow

WAIT_TIMEOUT = 3600.0

COLUMNS = [Column("id", "id"), Column("hostname", "hostname"), Column("state", "state"),
           Column("%", lambda d: d.get("provisioning_percentage") if d.get("state") != "active" else None),
           Column("plan", "plan.slug"), Column("metro", "metro.code"), Column("os", "operating_system.slug"),
           Column("address", lambda d: next((a.get("address") for a in d.get("ip_addresses") or []
                                             if a.get("public") and a.get("address_family") == 4), None)),
           Column("tags", "tags")]
DETAIL = [Column("id", "id"), Column("hostname", "hostname"), Column("state", "state"),
          Column("provisioning %", "provisioning_percentage"), Column("plan", "plan.slug"),
          Column("metro", "metro.code"), Column("operating system", "operating_system.slug"),
          Column("addresses", lambda d: [a.get("address") for a in d.get("ip_addresses") or []]),
          Column("tags", "tags"), Column("description", "description"), Column("locked", "locked"),
          Column("always_pxe", "always_pxe"), Column("ipxe_script_url", "ipxe_script_url"),
          Column("rescue", "rescue"), Column("project", "project.id"), Column("created", "created_at")]
ADDRESSES = [Column("address", "address"), Column("cidr", "cidr"), Column("family", "address_family"),
             Column("public", "public"), Column("gateway", "gateway")]
EVENTS = [Column("when", "created_at"), Column("type", "type"), Column("state", "state"), Column("body", "body")]


def wait_options(f):
    f = click.option("--timeout", default=WAIT_TIMEOUT, show_default=True, type=click.FloatRange(1),
                     help="Seconds --wait waits.")(f)
    return click.option("--wait", is_flag=True, help="Follow the operation to its end with a progress bar.")(f)


def resolve(cli: CliContext, ref: str, project: str | None = None) -> str:
    """A device's id from its id or its hostname in the project.

    Raises:
        CliError: no such device, or the hostname names several (exit code 4).
    """
    if UUID_RE.match(ref):
        return ref
    found = [d for d in cli.api.all_pages(f"/projects/{cli.project_id(project)}/devices", "devices", hostname=ref)
             if d.get("hostname") == ref]
    if len(found) != 1:
        raise CliError(f"no device {ref!r} in the project" if not found else
                       f"{len(found)} devices are named {ref!r}: use its id", EXIT_NOT_FOUND)
    return found[0]["id"]


def finished(device: dict | None, fmt: str) -> None:
    """What a --wait ends with: the device and its addresses."""
    if device is None:
        return
    show(device, fmt, DETAIL)
    if fmt == "table" and device.get("ip_addresses"):
        show(device["ip_addresses"], fmt, ADDRESSES, title="addresses")


@click.group()
def device():
    """Devices: create, watch, power, reinstall, delete."""


@device.command("list")
@click.option("--state", default=None, help="Only devices in this state.")
@click.option("--tag", default=None, help="Only devices with this tag.")
@click.option("--search", default=None, help="Hostname or description contains this.")
@click.option("--all-projects", is_flag=True, help="Every project you can see (operators: all devices).")
@project_option
@output_option
@pass_cli
def device_list(cli: CliContext, state, tag, search, all_projects, project, fmt):
    """List the project's devices."""
    path = "/devices" if all_projects else f"/projects/{cli.project_id(project)}/devices"
    show(cli.api.all_pages(path, "devices", state=state, tag=tag, search=search), fmt, COLUMNS)


@device.command("get")
@click.argument("ref", metavar="ID|HOSTNAME")
@project_option
@output_option
@pass_cli
def device_get(cli: CliContext, ref, project, fmt):
    """Show a device."""
    show(cli.api.get(f"/devices/{resolve(cli, ref, project)}"), fmt, DETAIL)


def _userdata(userdata: str | None, userdata_file) -> str | None:
    if userdata is not None and userdata_file is not None:
        raise click.UsageError("give --userdata or --userdata-file, not both")
    return userdata_file.read() if userdata_file is not None else userdata


@device.command("create")
@click.option("-H", "--hostname", required=True, help="The device's hostname.")
@click.option("-P", "--plan", required=True, help="Plan slug (`ingot plan list`).")
@click.option("-m", "--metro", required=True, help="Metro code (`ingot metro list`).")
@click.option("-O", "--os", "--operating-system", "os_slug", required=True,
              help="Operating system slug (`ingot os list`).")
@click.option("--userdata", default=None, help="User data (cloud-init), at most 64 KiB.")
@click.option("--userdata-file", type=click.File(), default=None, help="A file of user data.")
@click.option("--customdata", default=None, help="A JSON object (or @file) for the metadata service.")
@click.option("-t", "--tag", "tags", multiple=True, help="A tag (repeat).")
@click.option("--description", default=None, help="A note.")
@click.option("--ssh-key", "ssh_keys", multiple=True, metavar="ID", help="Only this user SSH key (repeat).")
@click.option("--always-pxe", is_flag=True, default=None, help="Boot from the network every time.")
@click.option("--ipxe-script-url", default=None, help="custom_ipxe: the iPXE script to chain.")
@click.option("--hardware-reservation", default=None, metavar="ID", help="Create it on this reservation "
              "(or next-available).")
@click.option("--billing-cycle", type=click.Choice(("hourly", "daily", "monthly", "yearly")), default=None)
@click.option("--locked", is_flag=True, default=None, help="Refuse deletes and reinstalls until unlocked.")
@wait_options
@project_option
@output_option
@pass_cli
def device_create(cli: CliContext, hostname, plan, metro, os_slug, userdata, userdata_file, customdata, tags,
                  description, ssh_keys, always_pxe, ipxe_script_url, hardware_reservation, billing_cycle, locked,
                  wait, timeout, project, fmt):
    """Create a device (a machine of the plan is reserved and imaged)."""
    body = {"hostname": hostname, "plan": plan, "metro": metro, "operating_system": os_slug,
            "userdata": _userdata(userdata, userdata_file), "tags": list(tags) or None,
            "customdata": json_value(customdata) if customdata else None, "description": description,
            "user_ssh_keys": list(ssh_keys) or None, "always_pxe": always_pxe, "ipxe_script_url": ipxe_script_url,
            "hardware_reservation_id": hardware_reservation, "billing_cycle": billing_cycle, "locked": locked}
    created = cli.api.post(f"/projects/{cli.project_id(project)}/devices",
                           {k: v for k, v in body.items() if v is not None})
    if not wait:
        show(created, fmt, DETAIL)
        return
    finished(follow(cli.api, created["id"], "provision", timeout), fmt)


@device.command("update")
@click.argument("ref", metavar="ID|HOSTNAME")
@click.option("-H", "--hostname", default=None, help="A new hostname.")
@click.option("--description", default=None, help="A new note.")
@click.option("-t", "--tag", "tags", multiple=True, help="Replace the tags (repeat).")
@click.option("--no-tags", is_flag=True, help="Remove every tag.")
@click.option("--userdata", default=None, help="New user data.")
@click.option("--userdata-file", type=click.File(), default=None, help="A file of new user data.")
@click.option("--customdata", default=None, help="A JSON object (or @file).")
@click.option("--always-pxe/--no-always-pxe", default=None, help="Boot from the network every time.")
@click.option("--ipxe-script-url", default=None, help="custom_ipxe: the iPXE script to chain.")
@click.option("--locked/--unlocked", default=None, help="Refuse (or allow) deletes and reinstalls.")
@project_option
@output_option
@pass_cli
def device_update(cli: CliContext, ref, hostname, description, tags, no_tags, userdata, userdata_file, customdata,
                  always_pxe, ipxe_script_url, locked, project, fmt):
    """Change a device's hostname, description, tags, user data or flags."""
    body = {"hostname": hostname, "description": description, "userdata": _userdata(userdata, userdata_file),
            "customdata": json_value(customdata) if customdata else None, "always_pxe": always_pxe,
            "ipxe_script_url": ipxe_script_url, "locked": locked,
            "tags": [] if no_tags else (list(tags) or None)}
    show(cli.api.put(f"/devices/{resolve(cli, ref, project)}", changes(body)), fmt, DETAIL)


@device.command("delete")
@click.argument("ref", metavar="ID|HOSTNAME")
@click.option("--force", is_flag=True, help="Delete even a locked device (force_delete).")
@click.option("--fast", is_flag=True, help="Skip the disk wipe (deprovision_fast).")
@wait_options
@project_option
@pass_cli
def device_delete(cli: CliContext, ref, force, fast, wait, timeout, project):
    """Delete a device: its machine is wiped and returned to the pool."""
    device_id = resolve(cli, ref, project)
    cursor = EventCursor(cli.api, device_id)
    cursor.new()  # what happened before the delete is not its story
    cli.api.delete(f"/devices/{device_id}", force_delete="true" if force else None,
                   deprovision_fast="true" if fast else None)
    if wait:
        follow(cli.api, device_id, "deprovision", timeout, cursor=cursor, gone_ends=True)
    click.echo(f"device {ref} {'deleted' if wait else 'is being deleted'}", err=True)


def _action(cli: CliContext, ref: str, project: str | None, body: dict, operation: str, wait: bool,
            timeout: float, fmt: str) -> None:
    device_id = resolve(cli, ref, project)
    cursor = EventCursor(cli.api, device_id)
    cursor.new()
    cli.api.post(f"/devices/{device_id}/actions", body)
    if wait:
        finished(follow(cli.api, device_id, operation, timeout, cursor=cursor), fmt)
    else:
        click.echo(f"{operation.replace('_', ' ')} of {ref} accepted", err=True)


def _simple_action(name: str, help_text: str) -> None:
    @device.command(name.replace("_", "-"), help=help_text)
    @click.argument("ref", metavar="ID|HOSTNAME")
    @wait_options
    @project_option
    @output_option
    @pass_cli
    def command(cli: CliContext, ref, wait, timeout, project, fmt):
        _action(cli, ref, project, {"type": name}, name, wait, timeout, fmt)


_simple_action("power_on", "Power a device on.")
_simple_action("power_off", "Power a device off.")
_simple_action("reboot", "Power-cycle a device (leaving rescue mode if in it).")
_simple_action("rescue", "Boot a device into the rescue environment.")


@device.command("reinstall")
@click.argument("ref", metavar="ID|HOSTNAME")
@click.option("-O", "--os", "--operating-system", "os_slug", default=None, help="Another operating system.")
@click.option("--preserve-data", is_flag=True, help="Keep the data disks (no wipe).")
@click.option("--deprovision-fast", is_flag=True, help="Skip the wipe before installing.")
@wait_options
@project_option
@output_option
@pass_cli
def device_reinstall(cli: CliContext, ref, os_slug, preserve_data, deprovision_fast, wait, timeout, project, fmt):
    """Image a device again (with its or another operating system)."""
    body = {"type": "reinstall", "preserve_data": preserve_data, "deprovision_fast": deprovision_fast}
    if os_slug:
        body["operating_system"] = os_slug
    _action(cli, ref, project, body, "reinstall", wait, timeout, fmt)


@device.command("events")
@click.argument("ref", metavar="ID|HOSTNAME")
@click.option("--newest-first", is_flag=True, help="The latest events first.")
@click.option("--limit", default=0, type=click.IntRange(0), help="At most this many (0: all).")
@project_option
@output_option
@pass_cli
def device_events(cli: CliContext, ref, newest_first, limit, project, fmt):
    """Show a device's events: its story, oldest first."""
    device_id = resolve(cli, ref, project)
    events = cli.api.all_pages(f"/devices/{device_id}/events", "events", sort="desc" if newest_first else "asc")
    show(events[:limit] if limit else events, fmt, EVENTS)


COMMANDS = (device,)
